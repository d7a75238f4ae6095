import { runStreamsService } from '@ecosystem/platform';
import { orderDetailsTopology } from './topology.ts';

await runStreamsService({
  service: 'order-details-service',
  defaultPort: 8103,
  config: {},
  topology: ({ serdes }) => orderDetailsTopology(serdes),
});
