import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fraudThreshold, fraudWindowGraceMs, fraudWindowRetentionMs, fraudWindowSizeMs, unknownCustomerLevel } from '../src/rules.ts';
import { ksqlVariables, loadStatements, renderSql, sqlDirectory } from '../src/sql.ts';
import { fraudWindows } from '../src/topology.ts';

const raw = (file: string) => readFileSync(path.join(sqlDirectory, file), 'utf8');
const units: Record<string, number> = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };
function durationMs(sql: string, clause: string): number {
  const match = new RegExp(`${clause} (\\d+) (SECOND|MINUTE|HOUR|DAY)S?\\b`).exec(sql);
  if (!match) throw new Error(`no ${clause} in ${sql}`);
  return Number(match[1]) * units[match[2]!]!;
}

describe('the ksqlDB statements', () => {
  const { statements, fraudQuery } = loadStatements(ksqlVariables('test-1.', 42));

  it('run in file order: orders, customers, the join by customer, the enriched topic, the fraud table', () => {
    expect(statements.map(({ file }) => file)).toEqual(['01-orders.sql', '02-customers.sql', '03-orders-by-customer.sql', '04-orders-enriched.sql', '05-fraud-orders.sql']);
    for (const { sql } of statements) expect(sql).toMatch(/^CREATE (STREAM|TABLE) IF NOT EXISTS /);
  });

  it('use the prefixed topic names, prefixed object names and the OrderEnriched schema id', () => {
    const [orders, customers, byCustomer, enriched, fraud] = statements.map(({ sql }) => sql);
    expect(orders).toContain("CREATE STREAM IF NOT EXISTS TEST_1_ORDERS (ORDER_KEY VARCHAR KEY)\n  WITH (KAFKA_TOPIC='test-1.orders.v1', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO');");
    expect(customers).toContain("CREATE TABLE IF NOT EXISTS TEST_1_CUSTOMERS (CUSTOMER_ID BIGINT PRIMARY KEY)\n  WITH (KAFKA_TOPIC='test-1.customers', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO');");
    expect(byCustomer).toContain('FROM TEST_1_ORDERS o\n    LEFT JOIN TEST_1_CUSTOMERS c ON o.CUSTOMERID = c.CUSTOMER_ID');
    expect(enriched).toContain("KAFKA_TOPIC='test-1.orders-enriched.v1', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO', VALUE_SCHEMA_ID=42");
    expect(fraud).toContain('FROM TEST_1_ORDERS_BY_CUSTOMER');
    expect(fraudQuery).toBe('SELECT CUSTOMERID, FIRSTNAME, LASTNAME, COUNTS, WINDOWSTART, WINDOWEND\n  FROM TEST_1_FRAUD_ORDERS;');
    expect(statements.every(({ sql }) => !sql.includes('--') && !sql.includes('${'))).toBe(true);
  });

  it('make object names valid identifiers whatever the prefix', () => {
    expect(ksqlVariables('', 1).ordersStream).toBe('ORDERS');
    expect(ksqlVariables('e2e-k1.', 1).fraudTable).toBe('E2E_K1_FRAUD_ORDERS');
    expect(ksqlVariables('9x.', 1).customersTable).toBe('P9X_CUSTOMERS');
  });

  it('spell the same rules as the local engine: window size, grace, retention, threshold, counted state, unknown level', () => {
    const fraud = raw('05-fraud-orders.sql');
    expect(fraud).toMatch(/WINDOW TUMBLING \(SIZE \d+ \w+, RETENTION \d+ \w+, GRACE PERIOD \d+ \w+\)/);
    expect(durationMs(fraud, 'SIZE')).toBe(fraudWindowSizeMs);
    expect(durationMs(fraud, 'GRACE PERIOD')).toBe(fraudWindowGraceMs);
    expect(durationMs(fraud, 'RETENTION')).toBe(fraudWindowRetentionMs);
    expect(fraudWindows.graceMs).toBe(fraudWindowGraceMs);
    expect(fraudWindows.retentionMs).toBe(fraudWindowRetentionMs);
    expect(fraud).toContain(`HAVING COUNT(*) > ${fraudThreshold}`);
    const byCustomer = raw('03-orders-by-customer.sql');
    expect(byCustomer).toContain("WHERE o.STATE = 'CREATED'");
    expect(byCustomer).toContain(`IFNULL(c.LEVEL, '${unknownCustomerLevel}')`);
  });

  it('refuse an unknown placeholder instead of sending an empty name', () => {
    expect(() => renderSql('SELECT * FROM ${nothing};', { something: 'X' }, 'x.sql')).toThrow(/x\.sql: unknown placeholder \$\{nothing\}/);
  });
});
