import { describe, expect, it } from 'vitest';
import { JoinWindows, jsonSerde, partitionForKey, StreamsBuilder, stringSerde, type KeyValueStore } from '../src/index.ts';
import type { LevelJoinBuffer } from '../src/stores/join-buffer.ts';
import { collect, entries, strings, useTopologyDriver } from './support/driver.ts';

interface Order {
  product: string | null;
  quantity: number;
}
const orders = { key: stringSerde, value: jsonSerde<Order>() };

const { start, close } = useTopologyDriver();

describe('KTable from a topic', () => {
  it('keeps the latest value per key, deletes on a null value, and toStream() shows every update', async () => {
    const builder = new StreamsBuilder();
    builder.table('users', strings, { storeName: 'users-store' }).toStream().to('user-changes', strings);
    const d = await start(builder.build());
    const users = d.inputTopic('users', strings);
    await users.pipe('a', 'Ann', 1);
    await users.pipe('b', 'Bob', 2);
    await users.pipe('a', 'Anna', 3);
    await users.pipe('b', null, 4);
    await users.pipe('c', 'Cid', 5);

    const store = d.store<KeyValueStore<string, string>>('users-store');
    expect(await store.get('a')).toBe('Anna');
    expect(await store.get('b')).toBeUndefined();
    expect(await entries(store)).toEqual([
      ['a', 'Anna'],
      ['c', 'Cid'],
    ]);
    const changes = await d.outputTopic('user-changes', strings).readRecords();
    expect(changes.map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual([
      ['a', 'Ann', 1],
      ['b', 'Bob', 2],
      ['a', 'Anna', 3],
      ['b', null, 4],
      ['c', 'Cid', 5],
    ]);
  });

  it('keeps each key in the store of its partition', async () => {
    const builder = new StreamsBuilder();
    builder.table('users', strings, { storeName: 'users-store' });
    const d = await start(builder.build(), { partitions: 3 });
    const keys = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    for (const key of keys) await d.inputTopic('users', strings).pipe(key, `name-${key}`, 1);
    for (let partition = 0; partition < 3; partition += 1) {
      const stored = (await entries(d.store<KeyValueStore<string, string>>('users-store', partition))).map(([key]) => key);
      expect(stored).toEqual(keys.filter((key) => partitionForKey(Buffer.from(key), 3) === partition));
    }
  });
});

describe('stream-table join', () => {
  async function setup(partitions: number) {
    const builder = new StreamsBuilder();
    const customers = builder.table('customers', strings, { storeName: 'customers-store' });
    const purchases = builder.stream('purchases', strings);
    purchases.join(customers, (purchase, customer: string) => `${purchase} by ${customer}`).to('joined', strings);
    purchases.leftJoin(customers, (purchase, customer: string | undefined) => `${purchase} by ${customer ?? 'unknown'}`).to('left-joined', strings);
    const d = await start(builder.build(), { partitions });
    return {
      d,
      customer: d.inputTopic('customers', strings),
      purchase: d.inputTopic('purchases', strings),
      joined: d.outputTopic('joined', strings),
      leftJoined: d.outputTopic('left-joined', strings),
    };
  }

  it('joins with the current table value; a record before the key exists only gets through the left join', async () => {
    const { customer, purchase, joined, leftJoined } = await setup(1);
    await purchase.pipe('c1', 'p1', 1); // the table has no c1 yet
    await customer.pipe('c1', 'Alice', 2);
    await purchase.pipe('c1', 'p2', 3);
    await customer.pipe('c1', 'Alicia', 4);
    await purchase.pipe('c1', 'p3', 5);
    await customer.pipe('c1', null, 6); // deleted
    await purchase.pipe('c1', 'p4', 7);
    await purchase.pipe('c2', 'p5', 8);

    expect((await joined.readRecords()).map(({ key, value, timestamp }) => [key, value, timestamp])).toEqual([
      ['c1', 'p2 by Alice', 3],
      ['c1', 'p3 by Alicia', 5],
    ]);
    expect(await leftJoined.readKeyValues()).toEqual([
      ['c1', 'p1 by unknown'],
      ['c1', 'p2 by Alice'],
      ['c1', 'p3 by Alicia'],
      ['c1', 'p4 by unknown'],
      ['c2', 'p5 by unknown'],
    ]);
  });

  it('is co-partitioned: with 3 partitions each key joins in its own partition', async () => {
    const { customer, purchase, joined } = await setup(3);
    const keys = ['c1', 'c2', 'c3', 'c4', 'c5'];
    expect(new Set(keys.map((key) => partitionForKey(Buffer.from(key), 3))).size).toBeGreaterThan(1);
    for (const key of keys) await customer.pipe(key, `name-${key}`, 1);
    for (const key of keys) await purchase.pipe(key, `p-${key}`, 2);
    const records = await joined.readRecords();
    expect(records.map(({ key, value }) => [key, value])).toEqual(keys.map((key) => [key, `p-${key} by name-${key}`]));
    for (const record of records) expect(record.partition).toBe(partitionForKey(Buffer.from(record.key), 3));
  });

  it('repartitions the stream by its new key before joining', async () => {
    const builder = new StreamsBuilder();
    const customers = builder.table('customers', strings, { storeName: 'customers-store' });
    builder
      .stream('purchases', orders)
      .selectKey((_key, value) => value.product ?? '')
      .join(customers, (order, name: string) => `${order.quantity} x ${name}`, { name: 'purchase-join', serdes: orders })
      .to('joined', strings);
    const d = await start(builder.build(), { partitions: 3 });
    await d.inputTopic('customers', strings).pipe('c9', 'Zed', 1);
    await d.inputTopic('purchases', orders).pipe('order-1', { product: 'c9', quantity: 2 }, 2);
    expect(await d.outputTopic('joined', strings).readKeyValues()).toEqual([['c9', '2 x Zed']]);
    const repartitioned = d.rawRecords(d.internalTopic('purchase-join-repartition'));
    expect(repartitioned.map((record) => [record.key?.toString(), record.partition])).toEqual([['c9', partitionForKey(Buffer.from('c9'), 3)]]);
  });
});

describe('stream-globalTable join', () => {
  it('joins by a key taken from the value, against a table fed from every partition', async () => {
    const builder = new StreamsBuilder();
    const products = builder.globalTable('products', strings, { storeName: 'products-store' });
    const stream = builder.stream('orders', orders);
    stream
      .joinGlobal(products, (_key, order) => order.product, (order, name: string) => `${order.quantity} x ${name}`)
      .to('joined', strings);
    stream
      .leftJoinGlobal(products, (_key, order) => order.product, (order, name: string | undefined) => `${order.quantity} x ${name ?? '?'}`)
      .to('left-joined', strings);
    const d = await start(builder.build(), { partitions: 3 });
    const productKeys = ['apple', 'banana', 'cherry', 'date'];
    for (const key of productKeys) await d.inputTopic('products', strings).pipe(key, key.toUpperCase(), 1);
    // The products lie in several partitions, yet every task sees all of them.
    expect(new Set(d.rawRecords('products').map((record) => record.partition)).size).toBeGreaterThan(1);
    expect(await d.store<KeyValueStore<string, string>>('products-store').get('date')).toBe('DATE');

    const orderInput = d.inputTopic('orders', orders);
    const orderKeys = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'];
    const chosen = ['apple', 'banana', 'cherry', 'date', 'elderberry', null];
    for (const [index, key] of orderKeys.entries()) await orderInput.pipe(key, { product: chosen[index]!, quantity: index + 1 }, 10 + index);
    expect(new Set(orderKeys.map((key) => partitionForKey(Buffer.from(key), 3))).size).toBeGreaterThan(1);

    const joined = await d.outputTopic('joined', strings).readRecords();
    // The output keeps the stream's key (and so its partition).
    expect(joined.map(({ key, value, partition }) => [key, value, partition])).toEqual(
      [
        ['o1', '1 x APPLE'],
        ['o2', '2 x BANANA'],
        ['o3', '3 x CHERRY'],
        ['o4', '4 x DATE'],
      ].map(([key, value]) => [key, value, partitionForKey(Buffer.from(key!), 3)]),
    );
    expect(await d.outputTopic('left-joined', strings).readKeyValues()).toEqual([
      ['o1', '1 x APPLE'],
      ['o2', '2 x BANANA'],
      ['o3', '3 x CHERRY'],
      ['o4', '4 x DATE'],
      ['o5', '5 x ?'],
      // A record that selects no table key has no match rather than failing.
      ['o6', '6 x ?'],
    ]);
    expect(d.deadLetters).toEqual([]);

    // Updates and deletes of the global table are seen by the next records.
    await d.inputTopic('products', strings).pipe('apple', 'GREEN APPLE', 20);
    await d.inputTopic('products', strings).pipe('banana', null, 21);
    await orderInput.pipe('o7', { product: 'apple', quantity: 7 }, 22);
    await orderInput.pipe('o8', { product: 'banana', quantity: 8 }, 23);
    expect(await d.outputTopic('joined', strings).readKeyValues()).toEqual([['o7', '7 x GREEN APPLE']]);
    expect(await d.outputTopic('left-joined', strings).readKeyValues()).toEqual([
      ['o7', '7 x GREEN APPLE'],
      ['o8', '8 x ?'],
    ]);
  });
});

describe('windowed stream-stream join', () => {
  async function setup(windows: JoinWindows) {
    const builder = new StreamsBuilder();
    const clicks = builder.stream('clicks', strings);
    const views = builder.stream('views', strings);
    clicks.joinStream(views, (click, view) => `${click}+${view}`, windows, { name: 'click-view' }).to('joined', strings);
    const d = await start(builder.build());
    const output = d.outputTopic('joined', strings);
    return {
      d,
      click: d.inputTopic('clicks', strings),
      view: d.inputTopic('views', strings),
      read: async () => (await output.readRecords()).map(({ key, value, timestamp }) => `${key}:${value}@${timestamp}`),
    };
  }

  it('joins records within the window on both sides, before and after, with the later timestamp', async () => {
    const { click, view, read } = await setup(JoinWindows.ofTimeDifference(10));
    await click.pipe('u', 'c100', 100);
    await view.pipe('u', 'v95', 95); // other side 5 earlier
    await view.pipe('u', 'v104', 104); // other side 4 later
    await view.pipe('x', 'x100', 100); // another key: never joins u
    await click.pipe('u', 'c108', 108); // joins v104 (4 earlier); v95 is 13 earlier
    await click.pipe('u', 'c90', 90); // joins v95 (5 later); v104 is 14 later
    expect(await read()).toEqual(['u:c100+v95@100', 'u:c100+v104@104', 'u:c108+v104@108', 'u:c90+v95@95']);
  });

  it('joins at exactly the window difference but not one millisecond beyond, in both directions', async () => {
    const { click, view, read } = await setup(JoinWindows.ofTimeDifference(10));
    await click.pipe('u', 'c100', 100);
    await view.pipe('u', 'v90', 90); // difference 10: joins
    await view.pipe('u', 'v110', 110); // difference 10: joins
    await view.pipe('u', 'v89', 89); // difference 11: no
    await view.pipe('u', 'v111', 111); // difference 11: no
    expect(await read()).toEqual(['u:c100+v90@100', 'u:c100+v110@110']);
    await click.pipe('u', 'c121', 121); // v111 is 10 earlier, v110 is 11 earlier
    expect(await read()).toEqual(['u:c121+v111@121']);
  });

  it('ignores records with a null key or value on either side', async () => {
    const { d, click, view, read } = await setup(JoinWindows.ofTimeDifference(10));
    await click.pipe('u', null, 100);
    await click.pipe(null, 'c-no-key', 100);
    await view.pipe('u', 'v100', 100);
    await view.pipe('u', null, 101);
    await click.pipe('u', 'c101', 101);
    expect(await read()).toEqual(['u:c101+v100@101']);
    expect(d.deadLetters).toEqual([]);
  });

  it('joins duplicates (same key and timestamp) once per pair, without collapsing them', async () => {
    const { click, view, read } = await setup(JoinWindows.ofTimeDifference(0));
    await click.pipe('u', 'c', 100);
    await click.pipe('u', 'c', 100);
    await view.pipe('u', 'v', 100);
    expect(await read()).toEqual(['u:c+v@100', 'u:c+v@100']);
    await view.pipe('u', 'v', 100);
    expect(await read()).toEqual(['u:c+v@100', 'u:c+v@100']);
    await click.pipe('u', 'c', 100);
    expect(await read()).toEqual(['u:c+v@100', 'u:c+v@100']);
    await view.pipe('u', 'v', 101); // window 0: another timestamp never joins
    expect(await read()).toEqual([]);
  });

  it('drops records older than the retention (window before + after + grace + 1) and does not buffer them', async () => {
    const { d, click, view, read } = await setup(JoinWindows.ofTimeDifference(10)); // retention 21
    await click.pipe('u', 'c50', 50);
    await click.pipe('u', 'c100', 100); // stream time 100: records before 79 are too late
    await click.pipe('u', 'c85', 85); // late but within retention: buffered
    await view.pipe('u', 'v55', 55); // too late (would join c50)
    await view.pipe('u', 'v78', 78); // too late (would join c85)
    await view.pipe('u', 'v79', 79); // just within retention: joins c85
    expect(await read()).toEqual(['u:c85+v79@85']);
    const buffer = d.store<LevelJoinBuffer<string, string>>('click-view-other-buffer');
    expect((await collect(buffer.fetch('u', 0, 1000))).map((entry) => entry.timestamp)).toEqual([79]);
  });

  it('grace lengthens the retention', async () => {
    const { click, view, read } = await setup(JoinWindows.ofTimeDifference(10).grace(5)); // retention 26
    await click.pipe('u', 'c100', 100);
    await click.pipe('u', 'c85', 85);
    await view.pipe('u', 'v78', 78); // within retention now
    await view.pipe('u', 'v73', 73); // 100 - 26 = 74: too late
    expect(await read()).toEqual(['u:c85+v78@85']);
  });

  it('does not let unrelated traffic decide whether an old pair joins', async () => {
    // Whether the other side has purged its buffer (which happens when it processes a record
    // of any key) must not change the result.
    const run = async (withUnrelatedView: boolean) => {
      const { click, view, read } = await setup(JoinWindows.ofTimeDifference(10)); // retention 21
      await view.pipe('k', 'v70', 70);
      await click.pipe('other-click', 'c100', 100); // stream time 100
      if (withUnrelatedView) await view.pipe('other-view', 'v100', 100);
      await click.pipe('k', 'c79', 79); // within retention; v70 (9 earlier) is not
      const output = await read();
      await close();
      return output;
    };
    expect(await run(false)).toEqual(await run(true));
    expect(await run(false)).toEqual([]);
  });

  it('repartitions a side whose key changed', async () => {
    const builder = new StreamsBuilder();
    const clicks = builder.stream('clicks', strings).selectKey((_key, value) => value.split('/')[0]!);
    const views = builder.stream('views', strings);
    clicks.joinStream(views, (click, view) => `${click}+${view}`, JoinWindows.ofTimeDifference(5), { name: 'cv', serdes: strings }).to('joined', strings);
    const d = await start(builder.build(), { partitions: 3 });
    await d.inputTopic('views', strings).pipe('page-a', 'view', 10);
    await d.inputTopic('clicks', strings).pipe('session-1', 'page-a/button', 12);
    expect(await d.outputTopic('joined', strings).readKeyValues()).toEqual([['page-a', 'page-a/button+view']]);
    expect(d.rawRecords(d.internalTopic('cv-this-repartition')).map((record) => record.partition)).toEqual([partitionForKey(Buffer.from('page-a'), 3)]);
  });
});
