import { runStreamsService } from '@ecosystem/platform';
import { aggregatorTopology } from './topology.ts';

await runStreamsService({
  service: 'validation-aggregator',
  defaultPort: 8104,
  config: {},
  topology: ({ serdes }) => aggregatorTopology(serdes),
});
