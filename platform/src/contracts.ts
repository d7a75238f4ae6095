/**
 * Answers of the services' HTTP APIs that other parts of the project read: the contract lives
 * here, between the service that writes it and the clients that read it (the dashboard's
 * server and its page), so that no client imports a service's insides. Types only, with no
 * imports: the dashboard's browser page compiles against this file too.
 */

/** A row of order-enrichment's GET /fraud: a customer with more than two orders in one 30-second window. */
export interface FraudRow {
  customerId: number;
  firstName: string | null;
  lastName: string | null;
  counts: number;
  windowStart: number;
  windowEnd: number;
}
