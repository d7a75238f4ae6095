import { env, httpServerConfig, infrastructureConfig } from '@ecosystem/platform';

/** What the dashboard reads besides the infrastructure's variables; the defaults fit `npm start`. */
export const dashboardConfig = {
  ...infrastructureConfig,
  PORT: env.port(8090),
  ...httpServerConfig,
  /** The orders API the page's form posts to (through POST /api/orders, so the browser needs no CORS). */
  ORDERS_URL: env.url('http://127.0.0.1:8000'),
  /** GET /v1/stock of the inventory service. */
  INVENTORY_URL: env.url('http://127.0.0.1:8101'),
  /** GET /fraud of the order-enrichment service. */
  ENRICHMENT_URL: env.url('http://127.0.0.1:8010'),
  /** Pages fed at once (GET /events); one more is answered 503, so open tabs cannot take all of the memory. */
  DASHBOARD_MAX_CLIENTS: env.positiveInt(100),
  /** How often stock, fraud flags and consumer lag are polled. */
  POLL_INTERVAL_MS: env.milliseconds(2_000),
};
