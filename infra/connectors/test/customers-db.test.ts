import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addCustomer, customerFromRow, customerRowsAfter, customersAfter, customersDbPath, defaultCustomerCount, defaultCustomersDbPath, openCustomersDb, rowAsJson, seedCustomer, seedCustomers, seedCustomerTable, type CustomersDatabase } from '../src/customers-db.ts';

let directory: string;
let file: string;
let db: CustomersDatabase;

beforeEach(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'customers-db-'));
  file = path.join(directory, 'nested', 'customers.db');
  db = openCustomersDb(file);
});

afterEach(async () => {
  db.close();
  await rm(directory, { recursive: true, force: true });
});

const person = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', address: '1 Analytical Row' };

describe('the customers database', () => {
  it('is seeded with the nine customers first, ids 1-9, with their levels', () => {
    expect(seedCustomerTable(db, 9)).toBe(9);
    const customers = customersAfter(db, 0, 100);
    expect(customers.map((customer) => customer.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Object.fromEntries(customers.map((customer) => [customer.id, customer.level]))).toEqual({
      1: 'platinum', 2: 'platinum', 3: 'platinum', 4: 'bronze', 5: 'gold', 6: 'silver', 7: 'gold', 8: 'silver', 9: 'bronze',
    });
    for (const customer of customers) expect(customer.email).toMatch(/^[a-z.]+@example\.com$/);
  });

  it('holds a thousand customers by default, generated alike on every machine, with every level, few platinum', () => {
    expect(defaultCustomerCount).toBe(1_000);
    expect(seedCustomerTable(db)).toBe(1_000);
    const customers = customersAfter(db, 0, 5_000);
    expect(customers.map((customer) => customer.id)).toEqual(Array.from({ length: 1_000 }, (_, index) => index + 1));
    expect(customers.slice(0, 9)).toEqual(seedCustomers);
    expect(customers[41]).toEqual(seedCustomer(42));
    // Valid Customers (customersAfter decodes every row against the schema), distinct addresses.
    expect(new Set(customers.map((customer) => customer.email)).size).toBe(1_000);
    for (const customer of customers.slice(9)) expect(customer.email).toMatch(new RegExp(`^[a-z.]+\\.${customer.id}@example\\.com$`));
    const levels = new Map<string, number>();
    for (const customer of customers) levels.set(customer.level, (levels.get(customer.level) ?? 0) + 1);
    expect(levels.get('platinum')).toBeLessThan(100);
    expect(levels.get('bronze')).toBeGreaterThan(400);
    expect(levels.get('gold')! + levels.get('silver')!).toBeGreaterThan(300);
  });

  it('seeds idempotently, also when opened again from the file', () => {
    seedCustomerTable(db, 9);
    expect(seedCustomerTable(db, 9)).toBe(0);
    db.close();
    db = openCustomersDb(file);
    expect(seedCustomerTable(db, 9)).toBe(0);
    expect(customersAfter(db, 0, 100)).toHaveLength(9);
  });

  it('tops a smaller table up with ids above its highest, never below', () => {
    seedCustomerTable(db, 9);
    expect(addCustomer(db, person)).toBe(10);
    expect(seedCustomerTable(db, 12)).toBe(2);
    expect(customersAfter(db, 9, 100)).toEqual([{ id: 10, ...person, level: 'bronze' }, seedCustomer(11), seedCustomer(12)]);
  });

  it('gives an added customer the next id and the default level bronze', () => {
    seedCustomerTable(db, 9);
    expect(addCustomer(db, person)).toBe(10);
    expect(addCustomer(db, { ...person, level: 'gold' })).toBe(11);
    expect(customersAfter(db, 9, 100)).toEqual([
      { id: 10, ...person, level: 'bronze' },
      { id: 11, ...person, level: 'gold' },
    ]);
  });

  it('refuses an unknown level and a missing column', () => {
    expect(() => db.prepare("INSERT INTO customers (first_name, last_name, email, address, level) VALUES ('a', 'b', 'c', 'd', 'wood')").run()).toThrow(/CHECK constraint/);
    expect(() => db.prepare("INSERT INTO customers (first_name, last_name, email) VALUES ('a', 'b', 'c')").run()).toThrow(/NOT NULL/);
  });

  it('reads rows above an id in id order, at most `limit` at a time (incrementing mode)', () => {
    seedCustomerTable(db, 9);
    expect(customersAfter(db, 3, 2).map((customer) => customer.id)).toEqual([4, 5]);
    expect(customersAfter(db, 9, 10)).toEqual([]);
  });

  it('decodes rows into Customers, naming the columns at fault', () => {
    const row = { id: 3, first_name: 'A', last_name: 'B', email: 'e', address: 'x', level: 'silver' };
    expect(customerFromRow(row)).toEqual({ id: 3, firstName: 'A', lastName: 'B', email: 'e', address: 'x', level: 'silver' });
    expect(() => customerFromRow({ ...row, level: 'wood' })).toThrow('customers row 3 is not a valid Customer: level = "wood"');
    expect(() => customerFromRow({ ...row, first_name: null })).toThrow('firstName = null');
    expect(() => customerFromRow({ ...row, id: 1.5 })).toThrow('id = 1.5');
  });

  it('reads rows one by one, each a Customer or the reason it is not one (for the dead-letter topic)', () => {
    seedCustomerTable(db, 3);
    // The CHECK on level stops an unknown level; a table made without it (or this pragma) lets one in.
    db.pragma('ignore_check_constraints = ON');
    db.prepare("INSERT INTO customers (id, first_name, last_name, email, address, level) VALUES (4, 'A', 'B', 'e', 'x', 'wood')").run();
    seedCustomerTable(db, 5);
    const rows = customerRowsAfter(db, 1, 10);
    expect(rows.map((row) => [row.id, 'customer' in row ? 'customer' : row.error.message])).toEqual([
      [2, 'customer'],
      [3, 'customer'],
      [4, 'customers row 4 is not a valid Customer: level = "wood"'],
      [5, 'customer'],
    ]);
    expect(rows[2]).toMatchObject({ row: { id: 4, level: 'wood' }, error: { name: 'InvalidCustomerRow' } });
    expect(customerRowsAfter(db, 5, 10)).toEqual([]);
  });

  it('writes a row as JSON, blobs as base64 and big integers as text', () => {
    expect(rowAsJson({ id: 4, first_name: null, email: Buffer.from([1, 2, 3]), big: 2n ** 64n })).toBe('{"id":4,"first_name":null,"email":{"base64":"AQID"},"big":"18446744073709551616"}');
  });

  it('lives in .local/customers.db at the repository root unless CUSTOMERS_DB says otherwise', () => {
    expect(customersDbPath({})).toBe(defaultCustomersDbPath);
    expect(path.relative(path.resolve(import.meta.dirname, '..', '..', '..'), defaultCustomersDbPath)).toBe(path.join('.local', 'customers.db'));
    expect(customersDbPath({ CUSTOMERS_DB: '/tmp/elsewhere.db' })).toBe('/tmp/elsewhere.db');
  });
});
