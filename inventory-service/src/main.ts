import { runStreamsService } from '@ecosystem/platform';
import { inventoryApi } from './openapi.ts';
import { stockRoutes } from './routes.ts';
import { inventoryTopology } from './topology.ts';

await runStreamsService({
  service: 'inventory-service',
  defaultPort: 8101,
  config: {},
  topology: ({ serdes }) => inventoryTopology(serdes),
  routes: stockRoutes,
  api: inventoryApi,
});
