import { runStreamsService } from '@ecosystem/platform';
import { stockRoutes } from './routes.ts';
import { inventoryTopology } from './topology.ts';

await runStreamsService({
  service: 'inventory-service',
  defaultPort: 8101,
  config: {},
  topology: ({ serdes }) => inventoryTopology(serdes),
  routes: stockRoutes,
});
