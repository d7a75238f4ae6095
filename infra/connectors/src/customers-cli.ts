import { Command, Option } from 'commander';
import { customerLevels, type CustomerLevel } from '@ecosystem/avro';
import { positiveInteger } from '@ecosystem/infra';
import { addCustomer, customersAfter, customersDbPath, defaultCustomerCount, openCustomersDb, seedCustomerTable, type CustomersDatabase } from './customers-db.ts';

/** Opens the database named by --db (default: CUSTOMERS_DB, else .local/customers.db), runs `action`, closes it. */
function withDb<T>(file: string, action: (db: CustomersDatabase) => T): T {
  const db = openCustomersDb(file);
  try {
    return action(db);
  } finally {
    db.close();
  }
}

const dbOption = () => new Option('--db <file>', 'the SQLite database (env CUSTOMERS_DB)').default(customersDbPath(), 'CUSTOMERS_DB or .local/customers.db');

const program = new Command()
  .name('customers')
  .description('The customers SQLite database that the customers source streams to the customers topic.');

program
  .command('seed')
  .description('create the table and fill it up to --count customers: the nine seed customers (ids 1-9), then generated ones')
  .addOption(new Option('--count <customers>', 'customers the table holds afterwards').default(defaultCustomerCount).argParser(positiveInteger))
  .addOption(dbOption())
  .action((options: { db: string; count: number }) => {
    const inserted = withDb(options.db, (db) => seedCustomerTable(db, options.count));
    console.log(inserted > 0 ? `seeded ${inserted} customers into ${options.db}` : `${options.db} already has ${options.count} customers or more: nothing seeded`);
  });

program
  .command('add')
  .description('insert a customer and print its new id')
  .requiredOption('--first-name <name>')
  .requiredOption('--last-name <name>')
  .requiredOption('--email <email>')
  .requiredOption('--address <address>')
  .addOption(new Option('--level <level>').choices(customerLevels).default('bronze'))
  .addOption(dbOption())
  .action((options: { firstName: string; lastName: string; email: string; address: string; level: CustomerLevel; db: string }) => {
    const { db, ...customer } = options;
    console.log(withDb(db, (database) => addCustomer(database, customer)));
  });

program
  .command('list')
  .description('print every customer as a JSON line')
  .addOption(dbOption())
  .action((options: { db: string }) => {
    for (const customer of withDb(options.db, (db) => customersAfter(db, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))) {
      console.log(JSON.stringify(customer));
    }
  });

await program.parseAsync();
