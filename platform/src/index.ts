export * from './config.ts';
export * from './logger.ts';
export * from './kafka.ts';
export * from './topics.ts';
export * from './http.ts';
export * from './endpoints.ts';
export * from './metrics.ts';
export * from './lifecycle.ts';
export * from './streams-app.ts';
export * from './streams-service.ts';
export * from './batching-producer.ts';
export * from './contracts.ts';
export * from './openapi.ts';
export * from './api-schemas.ts';
// The project's one retry helper (it lives in the streams runtime), for tools that import the platform only.
export { retry, type RetryOptions } from 'kstreams';
