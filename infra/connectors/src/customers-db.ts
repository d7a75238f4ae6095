import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCustomerLevel, recordSchema, type Customer, type CustomerLevel } from '@ecosystem/avro';
// The English locale alone: the package's main entry loads every locale (ten times slower to import).
import { faker } from '@faker-js/faker/locale/en';
import Database from 'better-sqlite3';
import { customersSourceJob } from './jobs.ts';

export type CustomersDatabase = Database.Database;

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `.local/customers.db` at the repository root unless CUSTOMERS_DB says otherwise. */
export const defaultCustomersDbPath = path.join(repositoryRoot, '.local', 'customers.db');

export function customersDbPath(environment: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(environment['CUSTOMERS_DB'] ?? defaultCustomersDbPath);
}

// NOT NULL on every column: Connect's JDBC source turns nullable columns into optional Avro
// fields, and the value must stay the project's Customer record, whose fields are required.
const createTable = `
  CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    address TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT 'bronze' CHECK (level IN ('platinum', 'gold', 'silver', 'bronze'))
  )`;

/** Opens (creating when missing) the customers database and its table. */
export function openCustomersDb(file: string): CustomersDatabase {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // WAL lets the source read while the CLI (or anyone) inserts; the timeout rides out short locks.
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(createTable);
  return db;
}

export type NewCustomer = Omit<Customer, 'id' | 'level'> & { level?: CustomerLevel };

export const seedCustomers: readonly Customer[] = [
  { id: 1, firstName: 'Amara', lastName: 'Okafor', email: 'amara.okafor@example.com', address: '12 Harbour Road, Lagos', level: 'platinum' },
  { id: 2, firstName: 'Lukas', lastName: 'Brenner', email: 'lukas.brenner@example.com', address: '4 Lindenstrasse, Leipzig', level: 'platinum' },
  { id: 3, firstName: 'Mei', lastName: 'Tanaka', email: 'mei.tanaka@example.com', address: '2-7 Sakura Dori, Osaka', level: 'platinum' },
  { id: 4, firstName: 'Diego', lastName: 'Salazar', email: 'diego.salazar@example.com', address: '88 Calle Luna, Valencia', level: 'bronze' },
  { id: 5, firstName: 'Priya', lastName: 'Raman', email: 'priya.raman@example.com', address: '31 Lake View, Chennai', level: 'gold' },
  { id: 6, firstName: 'Tom', lastName: 'Whitfield', email: 'tom.whitfield@example.com', address: '9 Mill Lane, York', level: 'silver' },
  { id: 7, firstName: 'Ingrid', lastName: 'Solberg', email: 'ingrid.solberg@example.com', address: '15 Fjordveien, Bergen', level: 'gold' },
  { id: 8, firstName: 'Kwame', lastName: 'Mensah', email: 'kwame.mensah@example.com', address: '5 Ring Road, Accra', level: 'silver' },
  { id: 9, firstName: 'Sofia', lastName: 'Marchetti', email: 'sofia.marchetti@example.com', address: '23 Via Roma, Turin', level: 'bronze' },
];

/**
 * How many customers a new database gets (CUSTOMER_COUNT): enough that most of them order
 * rarely at the populator's rate, which spreads its orders over all of them.
 */
export const defaultCustomerCount = 1_000;

/** Shares of the levels among the generated customers: few platinum, many bronze. */
const levelWeights: Array<{ value: CustomerLevel; weight: number }> = [
  { value: 'platinum', weight: 5 },
  { value: 'gold', weight: 15 },
  { value: 'silver', weight: 30 },
  { value: 'bronze', weight: 50 },
];

/**
 * The customer with this id of the seeded base: one of the nine above for ids 1-9, otherwise a
 * generated one, the same for the same id on every machine (faker seeded with the id).
 */
export function seedCustomer(id: number): Customer {
  const anchor = seedCustomers[id - 1];
  if (anchor) return anchor;
  faker.seed(id);
  const firstName = faker.person.firstName();
  const lastName = faker.person.lastName();
  const local = `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, '');
  return {
    id,
    firstName,
    lastName,
    // The id keeps two customers of the same name apart.
    email: `${local}.${id}@example.com`,
    address: `${faker.location.streetAddress()}, ${faker.location.city()}`,
    level: faker.helpers.weightedArrayElement(levelWeights),
  };
}

/**
 * Fills the table up to `count` customers and returns how many it inserted: an empty table gets
 * ids 1 to `count` (the nine seed customers first), a table with fewer rows gets the next ids
 * after its highest. Rows only ever go above the highest id: the source streams ids above its
 * position, so rows slipped in below ids already streamed would never reach the topic.
 */
export function seedCustomerTable(db: CustomersDatabase, count = defaultCustomerCount): number {
  const insert = db.prepare('INSERT INTO customers (id, first_name, last_name, email, address, level) VALUES (?, ?, ?, ?, ?, ?)');
  return db.transaction(() => {
    const { rows, highest } = db.prepare('SELECT COUNT(*) AS rows, COALESCE(MAX(id), 0) AS highest FROM customers').get() as { rows: number; highest: number };
    const missing = Math.max(0, count - rows);
    for (let index = 1; index <= missing; index += 1) {
      const customer = seedCustomer(highest + index);
      insert.run(customer.id, customer.firstName, customer.lastName, customer.email, customer.address, customer.level);
    }
    return missing;
  }).immediate();
}

/** Inserts a customer and returns the id the database gave it. */
export function addCustomer(db: CustomersDatabase, customer: NewCustomer): number {
  const result = db
    .prepare('INSERT INTO customers (first_name, last_name, email, address, level) VALUES (?, ?, ?, ?, ?)')
    .run(customer.firstName, customer.lastName, customer.email, customer.address, customer.level ?? 'bronze');
  return Number(result.lastInsertRowid);
}

const { table, incrementingColumn, columns } = customersSourceJob;
const customerType = recordSchema('Customer').type;
const selectAfter = `SELECT ${Object.keys(columns).join(', ')} FROM ${table} WHERE ${incrementingColumn} > ? ORDER BY ${incrementingColumn} ASC LIMIT ?`;

/** The incrementing-mode query: up to `limit` customers with an id above `afterId`, in id order. */
export function customersAfter(db: CustomersDatabase, afterId: number, limit: number): Customer[] {
  const rows = db.prepare(selectAfter).all(afterId, limit) as unknown[];
  return rows.map(customerFromRow);
}

/** A row of the incrementing-mode query: its Customer, or why it is not one (the row as read, for the dead-letter topic). */
export type CustomerRow = { id: number; customer: Customer } | { id: number; row: Record<string, unknown>; error: Error };

/**
 * The incrementing-mode query, row by row: up to `limit` rows with an id above `afterId`, in id
 * order, each decoded or with the reason it is not a valid Customer. Throws only for a row whose
 * id is not a safe integer: the position could not move past it.
 */
export function customerRowsAfter(db: CustomersDatabase, afterId: number, limit: number): CustomerRow[] {
  const rows = db.prepare(selectAfter).all(afterId, limit) as Array<Record<string, unknown>>;
  return rows.map((row) => {
    const id = row[incrementingColumn];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new Error(`customers row with ${incrementingColumn} ${String(id)} has no integer ${incrementingColumn}: incrementing mode cannot move past it`);
    }
    try {
      return { id, customer: customerFromRow(row) };
    } catch (error) {
      return { id, row, error: error instanceof Error ? error : new Error(String(error)) };
    }
  });
}

/** A row as JSON text (the dead-letter record's value): blobs as `{"base64": ...}`, big integers as strings. */
export function rowAsJson(row: Record<string, unknown>): string {
  return JSON.stringify(row, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null && 'type' in value && value.type === 'Buffer' && 'data' in value && Array.isArray(value.data)) {
      return { base64: Buffer.from(value.data as number[]).toString('base64') };
    }
    return value;
  });
}

/**
 * Decodes a row into a Customer at the edge: columns renamed to fields as the job says, then
 * checked against the Customer schema, naming the fields at fault.
 */
export function customerFromRow(row: unknown): Customer {
  if (typeof row !== 'object' || row === null) throw new Error(`a customers row must be an object, got ${String(row)}`);
  const values = row as Record<string, unknown>;
  const candidate: Record<string, unknown> = {};
  for (const [column, field] of Object.entries(columns)) candidate[field] = values[column];
  const invalid: string[] = [];
  customerType.isValid(candidate, { errorHook: (fieldPath) => invalid.push(fieldPath.join('.')) });
  if (typeof candidate['level'] === 'string' && !isCustomerLevel(candidate['level'])) invalid.push('level');
  if (invalid.length > 0) {
    const details = invalid.map((field) => `${field} = ${JSON.stringify(candidate[field])}`).join(', ');
    throw Object.assign(new Error(`customers row ${JSON.stringify(values[incrementingColumn])} is not a valid Customer: ${details}`), { name: 'InvalidCustomerRow' });
  }
  return candidate as unknown as Customer;
}
