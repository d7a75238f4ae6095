import { checkNames, type FlowSummary, type OrderView, type Polled, type SecondCounts, type Snapshot } from '../src/snapshot.ts';
import { drawLatencyChart, drawRateChart } from './charts.ts';

/**
 * The page: one EventSource on /events. `snapshot` events (every second) redraw everything;
 * `orders` events (within 200 ms of a record) redraw the order tables only. Text goes in
 * through textContent, never as HTML: names and ids come from other systems.
 */

function byId<T extends Element = HTMLElement>(id: string): T {
  const element = document.querySelector<T>(`#${id}`);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

function cell(text: string, className?: string): HTMLTableCellElement {
  const element = document.createElement('td');
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function row(cells: HTMLTableCellElement[], attributes: Record<string, string> = {}): HTMLTableRowElement {
  const element = document.createElement('tr');
  element.append(...cells);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

function emptyRow(columns: number, text: string): HTMLTableRowElement {
  const only = cell(text, 'empty');
  only.colSpan = columns;
  return row([only]);
}

const clock = (timestamp: number | undefined) => (timestamp ? new Date(timestamp).toLocaleTimeString([], { hour12: false }) : '–');
const milliseconds = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `${Math.round(value)} ms`);

/** Orders per second over the last ten complete seconds (the current one is still filling). */
function rate(seconds: readonly SecondCounts[], key: 'created' | 'validated' | 'failed'): string {
  const complete = seconds.slice(-11, -1);
  if (complete.length === 0) return '– /s';
  return `${(complete.reduce((sum, second) => sum + second[key], 0) / complete.length).toFixed(1)} /s`;
}

function checkCell(result: string | undefined): HTMLTableCellElement {
  return cell(result ?? '…', `check ${(result ?? 'pending').toLowerCase()}`);
}

function renderOrders({ recent, placed }: Pick<FlowSummary, 'recent' | 'placed'>): void {
  const table = byId<HTMLTableSectionElement>('recent');
  table.replaceChildren(
    ...(recent.length === 0
      ? [emptyRow(11, 'no orders yet: place one, or run the populator')]
      : recent.map((order) =>
          row(
            [
              cell(clock(order.createdAt ?? order.finalAt)),
              cell(order.id.slice(0, 8), 'id'),
              cell(String(order.customerId ?? '–')),
              cell(order.product ?? '–'),
              cell(String(order.quantity ?? '–')),
              cell(order.price === undefined ? '–' : order.price.toFixed(2)),
              ...checkNames.map((check) => checkCell(order.checks[check])),
              cell(order.state, `state ${order.state.toLowerCase()}`),
              cell(milliseconds(order.latencyMs)),
            ],
            { 'data-order-id': order.id },
          ),
        )),
  );
  byId('placed').replaceChildren(...placed.map(placedCard));
}

/** An order placed here, with its three checks filling in as they arrive. */
function placedCard(order: OrderView): HTMLElement {
  const card = document.createElement('div');
  card.className = `placed state-${order.state.toLowerCase()}`;
  card.dataset.testid = 'placed-order';
  card.dataset.orderId = order.id;
  const title = document.createElement('p');
  title.textContent = `${order.id}  ·  customer ${order.customerId ?? '?'}, ${order.quantity ?? '?'} × ${order.product ?? '?'} at ${order.price ?? '?'}`;
  const checks = document.createElement('ul');
  for (const check of checkNames) {
    const item = document.createElement('li');
    const result = order.checks[check];
    item.className = `check ${(result ?? 'pending').toLowerCase()}`;
    item.dataset.check = check;
    item.textContent = `${check.replace('_CHECK', '').replace('_', ' ').toLowerCase()}: ${result ?? 'waiting'}`;
    checks.append(item);
  }
  const state = document.createElement('p');
  state.className = 'final';
  state.dataset.testid = 'placed-state';
  state.textContent = order.state;
  const latency = document.createElement('small');
  latency.textContent = order.latencyMs === undefined ? '' : `  POST → ${order.state.toLowerCase()} in ${order.latencyMs} ms`;
  state.append(latency);
  card.append(title, checks, state);
  return card;
}

function sourceStatus(id: string, polled: Polled<unknown>): void {
  const status = document.querySelector<HTMLElement>(`[data-testid="${id}"]`)!;
  status.textContent = polled.error ? `unavailable: ${polled.error}` : '';
  status.className = polled.error ? 'error' : '';
}

function renderSnapshot(snapshot: Snapshot): void {
  const { flow } = snapshot;
  for (const key of ['created', 'validated', 'failed'] as const) {
    document.querySelector(`[data-testid="total-${key}"]`)!.textContent = String(flow.totals[key]);
    document.querySelector(`[data-testid="rate-${key}"]`)!.textContent = rate(flow.perSecond, key);
  }
  drawRateChart(byId<SVGSVGElement>('rate-chart'), flow.perSecond);
  drawLatencyChart(byId<SVGSVGElement>('latency-chart'), flow.perSecond);
  const { latency } = flow;
  document.querySelector('[data-testid="latency"]')!.textContent =
    `p50 ${milliseconds(latency.p50Ms)} · p95 ${milliseconds(latency.p95Ms)} · p99 ${milliseconds(latency.p99Ms)} over the last minute (${latency.count} orders)`;
  renderOrders(flow);

  byId('stock').replaceChildren(
    ...(snapshot.stock.rows.length === 0
      ? [emptyRow(4, 'no stock known')]
      : snapshot.stock.rows.map((stock) => row([cell(stock.product), cell(String(stock.stock)), cell(String(stock.reserved)), cell(String(stock.stock - stock.reserved))], { 'data-product': stock.product }))),
  );
  sourceStatus('stock-status', snapshot.stock);

  byId('fraud').replaceChildren(
    ...(snapshot.fraud.rows.length === 0
      ? [emptyRow(3, 'no customer flagged')]
      : snapshot.fraud.rows.map((flag) => {
          const name = [flag.firstName, flag.lastName].filter(Boolean).join(' ');
          return row([cell(`${flag.customerId}${name ? ` ${name}` : ''}`), cell(String(flag.counts)), cell(`${clock(flag.windowStart)}–${clock(flag.windowEnd)}`)], { 'data-customer': String(flag.customerId) });
        })),
  );
  sourceStatus('fraud-status', snapshot.fraud);

  const largest = Math.max(1, ...snapshot.lag.rows.map((lag) => lag.lag ?? 0));
  byId('lag').replaceChildren(
    ...snapshot.lag.rows.map((lag) => {
      const value = cell(lag.lag === null ? 'no commits' : String(lag.lag), 'lag');
      value.style.setProperty('--share', `${((lag.lag ?? 0) / largest) * 100}%`);
      return row([cell(lag.service), value], { 'data-service': lag.service });
    }),
  );
  sourceStatus('lag-status', snapshot.lag);

  const select = document.querySelector<HTMLSelectElement>('#order-form select[name="product"]')!;
  if (select.options.length === 0) select.append(...snapshot.products.map((product) => new Option(product, product)));
}

function connect(): void {
  const connection = byId('connection');
  const source = new EventSource('/events');
  source.addEventListener('open', () => {
    connection.textContent = 'live';
    connection.className = 'connection live';
  });
  // EventSource reconnects by itself (the server asks for a 2 s retry).
  source.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'connection down';
  });
  source.addEventListener('snapshot', (event) => renderSnapshot(JSON.parse((event as MessageEvent<string>).data) as Snapshot));
  source.addEventListener('orders', (event) => renderOrders(JSON.parse((event as MessageEvent<string>).data) as Pick<FlowSummary, 'recent' | 'placed'>));
}

function wireForm(): void {
  const form = byId<HTMLFormElement>('order-form');
  const status = byId('form-status');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const order = {
      customerId: Number(fields.get('customerId')),
      product: String(fields.get('product')),
      quantity: Number(fields.get('quantity')),
      price: Number(fields.get('price')),
    };
    status.textContent = 'placing…';
    status.className = 'status';
    void fetch('/api/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) })
      .then(async (response) => {
        const answer = (await response.json()) as { id?: string; error?: string; fields?: Record<string, string> };
        if (response.status === 201) {
          status.textContent = `order ${answer.id} accepted: watch it go through the checks below`;
          status.className = 'status ok';
        } else {
          const details = Object.entries(answer.fields ?? {}).map(([field, problem]) => `${field}: ${problem}`).join('; ');
          status.textContent = `refused (${response.status}): ${answer.error ?? ''}${details ? ` — ${details}` : ''}`;
          status.className = 'status error';
        }
      })
      .catch((error: unknown) => {
        status.textContent = `could not reach the dashboard: ${error instanceof Error ? error.message : String(error)}`;
        status.className = 'status error';
      });
  });
}

wireForm();
connect();
