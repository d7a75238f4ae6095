import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Topics } from '@ecosystem/avro';

/**
 * The ksqlDB statements live in `sql/`: `NN-name.sql` files (one statement each) run in file
 * order at startup, and `fraud-query.sql` is the pull query behind GET /fraud. They hold
 * `${name}` placeholders (the syntax of ksqlDB's own variables) for what depends on the
 * deployment: topic names behind TOPIC_PREFIX, ksqlDB object names, the OrderEnriched schema id.
 */
export const sqlDirectory = fileURLToPath(new URL('../sql/', import.meta.url));

export interface KsqlStatements {
  /** The startup statements, rendered, in the order they run, with the file each came from. */
  statements: Array<{ file: string; sql: string }>;
  fraudQuery: string;
}

/**
 * Values for the placeholders. ksqlDB object names are one namespace per ksqlDB server, so
 * they carry the topic prefix too (upper-cased, other characters as `_`): copies of the system
 * sharing a server (tests, tenants) each get their own streams and tables.
 */
export function ksqlVariables(topicPrefix: string, ordersEnrichedSchemaId: number): Record<string, string> {
  let objectPrefix = topicPrefix.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  if (/^[0-9_]/.test(objectPrefix)) objectPrefix = `P${objectPrefix}`;
  return {
    ordersTopic: `${topicPrefix}${Topics.orders}`,
    customersTopic: `${topicPrefix}${Topics.customers}`,
    ordersEnrichedTopic: `${topicPrefix}${Topics.ordersEnriched}`,
    ordersByCustomerTopic: `${topicPrefix}order-enrichment-orders-by-customer`,
    fraudTopic: `${topicPrefix}order-enrichment-fraud-orders`,
    ordersEnrichedSchemaId: String(ordersEnrichedSchemaId),
    ordersStream: `${objectPrefix}ORDERS`,
    customersTable: `${objectPrefix}CUSTOMERS`,
    ordersByCustomerStream: `${objectPrefix}ORDERS_BY_CUSTOMER`,
    ordersEnrichedStream: `${objectPrefix}ORDERS_ENRICHED`,
    fraudTable: `${objectPrefix}FRAUD_ORDERS`,
  };
}

/** Fills the placeholders and drops `--` comment lines; an unknown placeholder is an error, not an empty string. */
export function renderSql(template: string, variables: Readonly<Record<string, string>>, source = 'statement'): string {
  const body = template
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join('\n')
    .trim();
  return body.replace(/\$\{(\w+)\}/g, (_match, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`${source}: unknown placeholder \${${name}} (known: ${Object.keys(variables).join(', ')})`);
    return value;
  });
}

export function loadStatements(variables: Readonly<Record<string, string>>, directory: string = sqlDirectory): KsqlStatements {
  const read = (file: string) => renderSql(readFileSync(path.join(directory, file), 'utf8'), variables, file);
  const files = readdirSync(directory)
    .filter((file) => /^\d+-[\w-]+\.sql$/.test(file))
    .sort();
  if (files.length === 0) throw new Error(`no NN-name.sql statement files in ${directory}`);
  return { statements: files.map((file) => ({ file, sql: read(file) })), fraudQuery: read('fraud-query.sql') };
}
