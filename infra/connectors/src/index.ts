export * from './jobs.ts';
export * from './customers-db.ts';
export * from './customers-source.ts';
export * from './orders-sink.ts';
export * from './elasticsearch.ts';
export * from './connect-configs.ts';
export * from './connect-rest.ts';
