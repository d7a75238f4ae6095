import { runStreamsService } from '@ecosystem/platform';
import { fraudConfig } from './config.ts';
import { fraudApi } from './openapi.ts';
import { fraudSessionRoutes } from './sessions.ts';
import { fraudTopology } from './topology.ts';

await runStreamsService({
  service: 'fraud-service',
  defaultPort: 8102,
  config: fraudConfig,
  topology: ({ serdes, config, logger }) =>
    fraudTopology(
      serdes,
      { sessionGapMs: config.FRAUD_SESSION_GAP_MS, graceMs: config.FRAUD_GRACE_MS, threshold: config.FRAUD_THRESHOLD },
      { onLateOrder: (record, streamTime) => logger.warn({ timestamp: record.timestamp, streamTime }, 'order arrived after its fraud session closed; it gets no fraud verdict') },
    ),
  // Each instance holds the sessions of its own customers: GET /v1/fraud-sessions asks the others through their advertised endpoints.
  endpoint: (config) => config.ADVERTISED_ENDPOINT ?? `127.0.0.1:${config.PORT}`,
  routes: (streams, { config, endpoint }) =>
    fraudSessionRoutes({ sessionGapMs: config.FRAUD_SESSION_GAP_MS, threshold: config.FRAUD_THRESHOLD, endpoint, apiToken: config.API_TOKEN })(streams),
  api: fraudApi,
});
