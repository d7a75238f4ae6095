/** `npm run build -w @ecosystem/dashboard`: builds the page now (the service also does it on start when needed). */
import { createLogger } from '@ecosystem/platform';
import { buildPage } from './assets.ts';

await buildPage(createLogger('dashboard-build'));
