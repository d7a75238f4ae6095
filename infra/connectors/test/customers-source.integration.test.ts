import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { longSerde, topicSerdes, unframe, type Customer } from '@ecosystem/avro';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordProducer } from 'kstreams';
import { addCustomer, customersAfter, openCustomersDb, seedCustomers, seedCustomerTable, type CustomersDatabase } from '../src/customers-db.ts';
import { encodePosition, positionKey, startCustomersSource, type CustomersSource } from '../src/customers-source.ts';
import { customersSourceNames } from '../src/jobs.ts';
import { brokers, cleanUp, consumeUntil, eventually, quietLogger, readToEnd, registryUrl, testKafka, testRegistry, uniquePrefix, type ConsumedRecord } from './support/servers.ts';

const kafka = testKafka();
const registry = testRegistry();
const prefix = uniquePrefix('customers');
const names = customersSourceNames(prefix);
const serdes = topicSerdes(registry, { prefix }).customers;
let directory: string;
let dbFile: string;
let db: CustomersDatabase;
const sources: CustomersSource[] = [];
const children: ChildProcess[] = [];

function start(): Promise<CustomersSource> {
  return startCustomersSource({ kafka, registry, db, logger: quietLogger, prefix, pollIntervalMs: 100 }).then((source) => {
    sources.push(source);
    return source;
  });
}

const idsOf = (records: ConsumedRecord[]) => records.map(({ key }) => longSerde.deserialize(key!));
const newCustomer = (n: number) => ({ firstName: `First${n}`, lastName: `Last${n}`, email: `c${n}@example.com`, address: `${n} Test Street` });

beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'customers-source-'));
  dbFile = path.join(directory, 'customers.db');
  db = openCustomersDb(dbFile);
  seedCustomerTable(db, 9);
});

afterAll(async () => {
  await Promise.all(sources.map((source) => source.stop()));
  for (const child of children) child.kill('SIGKILL');
  db.close();
  await rm(directory, { recursive: true, force: true });
  await cleanUp(kafka, prefix);
  await kafka.close();
});

describe('customers source (local JDBC source worker)', () => {
  it('streams the nine seeded customers with 8-byte long keys and Avro Customer values', async () => {
    const source = await start();
    const records = await consumeUntil(kafka, names.topic, (seen) => seen.length >= 9);
    expect(records).toHaveLength(9);
    for (const { key } of records) expect(key).toHaveLength(8);
    expect(idsOf(records).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);

    const values = await Promise.all(records.map(({ value }) => serdes.value.deserialize(value!)));
    expect(values.sort((a, b) => a.id - b.id)).toEqual(seedCustomers);
    // The schema id on the wire resolves through the registry to Customer, under the topic's subject.
    const { schemaId } = unframe(records[0]!.value!);
    const schema = (await (await fetch(`${registryUrl}/schemas/ids/${schemaId}`)).json()) as { schema: string };
    expect(JSON.parse(schema.schema)).toMatchObject({ type: 'record', name: 'Customer' });
    const latest = (await (await fetch(`${registryUrl}/subjects/${names.subject}/versions/latest`)).json()) as { id: number };
    expect(latest.id).toBe(schemaId);
    expect(source.position).toBe(9);
  });

  it('streams a row inserted while running within seconds', async () => {
    const inserted = Date.now();
    const id = addCustomer(db, { ...newCustomer(1), level: 'gold' });
    const records = await consumeUntil(kafka, names.topic, (seen) => idsOf(seen).includes(id), 10_000);
    expect(Date.now() - inserted).toBeLessThan(5_000);
    const record = records.find(({ key }) => longSerde.deserialize(key!) === id)!;
    expect(await serdes.value.deserialize(record.value!)).toEqual<Customer>({ id, ...newCustomer(1), level: 'gold' });
  });

  it('resumes after a clean stop with no duplicate and no gap', async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
    const whileStopped = [addCustomer(db, newCustomer(2)), addCustomer(db, newCustomer(3))];
    const source = await start();
    await eventually(() => source.position === whileStopped[1], 'the restarted source to stream the rows added while it was stopped');
    const ids = idsOf(await readToEnd(kafka, names.topic));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: whileStopped[1]! }, (_, index) => index + 1));
  });

  it('lets a second worker fence the first, which stops instead of alternating with it', async () => {
    const [first] = sources;
    const second = await start();
    await eventually(() => second.isReady, 'the second worker to resume');
    const id = addCustomer(db, newCustomer(4));
    await eventually(() => first!.fenced && second.position === id, 'the first worker to be fenced and the second to stream the new row');
    expect(first!.isReady).toBe(false);
    const ids = idsOf(await readToEnd(kafka, names.topic));
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: id }, (_, index) => index + 1));
  });

  it('resumes after a crash (kill -9 mid-stream) with no duplicate and no gap', async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()));
    const insert = db.transaction((count: number) => Array.from({ length: count }, (_, n) => addCustomer(db, newCustomer(100 + n))));
    const added = insert(2_000);
    const [firstNewId, lastId] = [added[0]!, added.at(-1)!];

    // The worker as its own process, killed without any chance to finish its transaction.
    const child = spawn(process.execPath, ['--conditions=@ecosystem/source', '--import', 'tsx', fileURLToPath(new URL('../src/customers-source-main.ts', import.meta.url))], {
      env: { ...process.env, KAFKA_BROKERS: brokers.join(','), SCHEMA_REGISTRY_URL: registryUrl, TOPIC_PREFIX: prefix, CUSTOMERS_DB: dbFile, PORT: '0', BATCH_SIZE: '20', POLL_INTERVAL_MS: '100', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let streamedLines = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      streamedLines += chunk.toString().split('\n').filter((line) => line.includes('"streamed customers"')).length;
    });
    await eventually(() => streamedLines >= 10, 'the source process to stream a few batches', 60_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    // Whether or not the kill hit an open transaction, leave one behind for sure: a worker that
    // died between sending the last rows (and a position past them) and committing.
    const zombieConnections = kafka.connections('zombie');
    const zombie = new RecordProducer(zombieConnections, { transactionalId: names.transactionalId, logger: quietLogger });
    await zombie.init();
    const tail = customersAfter(db, lastId - 5, 5);
    const now = Date.now();
    await zombie.send([
      ...(await Promise.all(tail.map(async (customer) => ({ topic: names.topic, key: serdes.key.serialize(customer.id), value: await serdes.value.serialize(customer), timestamp: now })))),
      { topic: names.offsetsTopic, key: Buffer.from(positionKey()), value: Buffer.from(encodePosition(lastId)), timestamp: now },
    ]);
    await zombieConnections.close();

    const source = await start();
    await eventually(() => source.position === lastId, `the restarted source to reach id ${lastId}`, 60_000);
    // It resumed from the last committed position, short of the last row, not from the open transaction's.
    expect(source.resumedFrom).toBeGreaterThanOrEqual(firstNewId - 1);
    expect(source.resumedFrom).toBeLessThan(lastId);
    const ids = idsOf(await readToEnd(kafka, names.topic));
    const duplicates = ids.filter((id, index) => ids.indexOf(id) !== index);
    expect(duplicates).toEqual([]);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: lastId }, (_, index) => index + 1));
    // The dead worker's records are on the log, aborted: consumers never see them.
    expect((await readToEnd(kafka, names.topic, { readUncommitted: true })).length).toBeGreaterThanOrEqual(ids.length + tail.length);
  });
});

describe('customers source with bad rows (dead-letter topic)', () => {
  const badPrefix = uniquePrefix('customers-bad');
  const badNames = customersSourceNames(badPrefix);
  const badSerdes = topicSerdes(registry, { prefix: badPrefix }).customers;
  let badDb: CustomersDatabase;
  const badSources: CustomersSource[] = [];
  const startBad = () =>
    startCustomersSource({ kafka, registry, db: badDb, logger: quietLogger, prefix: badPrefix, pollIntervalMs: 100 }).then((source) => {
      badSources.push(source);
      return source;
    });
  const insertRaw = (id: number, columns: { first_name: unknown; last_name?: unknown; email?: unknown; address?: unknown; level?: unknown }) => {
    const row = { last_name: `Last${id}`, email: `c${id}@example.com`, address: `${id} Test Street`, level: 'bronze', ...columns };
    badDb.prepare('INSERT INTO customers (id, first_name, last_name, email, address, level) VALUES (?, ?, ?, ?, ?, ?)').run(id, row.first_name, row.last_name, row.email, row.address, row.level);
  };
  const good = (id: number) => ({ first_name: `First${id}` });

  beforeAll(async () => {
    // A table made before the constraints (or by another tool): nothing stops NULLs, blobs or unknown levels.
    badDb = openCustomersDbWithoutConstraints(path.join(directory, 'legacy-customers.db'));
    insertRaw(1, good(1));
    insertRaw(2, good(2));
    insertRaw(3, { first_name: null });
    insertRaw(4, { ...good(4), level: 'diamond' });
    insertRaw(5, { ...good(5), email: Buffer.from([1, 2, 3]) });
    insertRaw(6, good(6));
  });

  afterAll(async () => {
    await Promise.all(badSources.map((source) => source.stop()));
    badDb.close();
    await cleanUp(kafka, badPrefix);
  });

  it('sends each bad row to the dead-letter topic with its id and reason, and streams the rows around it', async () => {
    const source = await startBad();
    await eventually(() => source.position === 6, 'the source to move past the bad rows to id 6');
    const records = await readToEnd(kafka, badNames.topic);
    expect(idsOf(records).sort((a, b) => a - b)).toEqual([1, 2, 6]);
    const values = await Promise.all(records.map(({ value }) => badSerdes.value.deserialize(value!)));
    expect(values.find((customer) => customer.id === 6)).toEqual<Customer>({ id: 6, firstName: 'First6', lastName: 'Last6', email: 'c6@example.com', address: '6 Test Street', level: 'bronze' });

    const deadLetters = await readToEnd(kafka, badNames.deadLetterTopic);
    const summary = deadLetters.map((record) => {
      const header = (name: string) => record.headers[`__connect.errors.${name}`]?.toString();
      return {
        id: longSerde.deserialize(record.key!),
        row: JSON.parse(record.value!.toString('utf8')) as Record<string, unknown>,
        connector: header('connector.name'),
        stage: header('stage'),
        topic: header('topic'),
        position: header('source.offset'),
        message: header('exception.message'),
      };
    });
    const common = { connector: 'jdbc-source-customers', stage: 'VALUE_CONVERTER', topic: badNames.topic };
    expect(summary).toEqual([
      { ...common, id: 3, row: expect.objectContaining({ id: 3, first_name: null }), position: '{"incrementing":3}', message: expect.stringMatching(/firstName = null/) },
      { ...common, id: 4, row: expect.objectContaining({ id: 4, level: 'diamond' }), position: '{"incrementing":4}', message: expect.stringMatching(/level = "diamond"/) },
      { ...common, id: 5, row: expect.objectContaining({ id: 5, email: { base64: 'AQID' } }), position: '{"incrementing":5}', message: expect.stringMatching(/email/) },
    ]);
    expect(source.deadLetters).toBe(3);
  });

  it('keeps going with later rows, and a restart dead-letters nothing twice', async () => {
    insertRaw(7, { ...good(7), level: null });
    insertRaw(8, good(8));
    const [first] = badSources;
    await eventually(() => first!.position === 8, 'the running source to stream rows added after the bad ones');
    await Promise.all(badSources.splice(0).map((source) => source.stop()));
    insertRaw(9, good(9));
    const source = await startBad();
    await eventually(() => source.isReady, 'the restarted source to read its stored position');
    expect(source.resumedFrom).toBe(8);
    await eventually(() => source.position === 9, 'the restarted source to stream id 9');
    expect(idsOf(await readToEnd(kafka, badNames.topic)).sort((a, b) => a - b)).toEqual([1, 2, 6, 8, 9]);
    expect(idsOf(await readToEnd(kafka, badNames.deadLetterTopic))).toEqual([3, 4, 5, 7]);
  });
});

/** A customers table as an older tool might have made it: the same columns, no NOT NULL and no CHECK. */
function openCustomersDbWithoutConstraints(file: string): CustomersDatabase {
  const legacy = new Database(file);
  legacy.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, first_name TEXT, last_name TEXT, email TEXT, address TEXT, level TEXT)');
  legacy.close();
  // The project's opener keeps the table it finds (CREATE TABLE IF NOT EXISTS).
  return openCustomersDb(file);
}
