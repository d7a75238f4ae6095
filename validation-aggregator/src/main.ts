import { runStreamsService } from '@ecosystem/platform';
import { aggregatorConfig } from './config.ts';
import { aggregatorTopology } from './topology.ts';

await runStreamsService({
  service: 'validation-aggregator',
  defaultPort: 8104,
  config: aggregatorConfig,
  topology: ({ serdes, config }) => aggregatorTopology(serdes, { checkTimeoutMs: config.CHECK_TIMEOUT_MS, decisionRetentionMs: config.DECISION_RETENTION_MS }),
});
