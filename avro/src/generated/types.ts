// Generated from avro/schemas/*.avsc by avro/scripts/generate-types.ts.
// Do not edit: change the .avsc files and run `npm run generate:avro`.

/** Avro enum `io.confluent.examples.streams.avro.microservices.OrderState`. */
export const orderStateSymbols = ['CREATED', 'VALIDATED', 'FAILED', 'SHIPPED'] as const;
export type OrderState = (typeof orderStateSymbols)[number];

/** Avro enum `io.confluent.examples.streams.avro.microservices.OrderValidationResult`. */
export const orderValidationResultSymbols = ['PASS', 'FAIL', 'ERROR'] as const;
export type OrderValidationResult = (typeof orderValidationResultSymbols)[number];

/** Avro enum `io.confluent.examples.streams.avro.microservices.OrderValidationType`. */
export const orderValidationTypeSymbols = ['INVENTORY_CHECK', 'FRAUD_CHECK', 'ORDER_DETAILS_CHECK'] as const;
export type OrderValidationType = (typeof orderValidationTypeSymbols)[number];

/** Avro enum `io.confluent.examples.streams.avro.microservices.Product`. */
export const productSymbols = ['JUMPERS', 'UNDERPANTS', 'STOCKINGS'] as const;
export type Product = (typeof productSymbols)[number];

/** Avro record `io.confluent.examples.streams.avro.microservices.Customer`. */
export interface Customer {
  /** Avro long: a safe integer. */
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  address: string;
  /** Defaults to "bronze" when the writer's schema lacks the field. */
  level: string;
}

/** The values a reader gives to Customer fields that the writer's schema lacks. */
export const customerDefaults = { level: "bronze" } as const satisfies Partial<Customer>;

/** Avro record `io.confluent.examples.streams.avro.microservices.Order`. */
export interface Order {
  id: string;
  /** Avro long: a safe integer. */
  customerId: number;
  state: OrderState;
  product: Product;
  /** Avro int: a 32-bit signed integer. */
  quantity: number;
  price: number;
}

/** Avro record `io.confluent.examples.streams.avro.microservices.OrderEnriched`. */
export interface OrderEnriched {
  id: string;
  /** Avro long: a safe integer. */
  customerId: number;
  customerLevel: string;
}

/** Avro record `io.confluent.examples.streams.avro.microservices.OrderValidation`. */
export interface OrderValidation {
  orderId: string;
  checkType: OrderValidationType;
  validationResult: OrderValidationResult;
}

/** Avro record `io.confluent.examples.streams.avro.microservices.OrderValue`. */
export interface OrderValue {
  order: Order;
  value: number;
}

/** Avro record `io.confluent.examples.streams.avro.microservices.Payment`. */
export interface Payment {
  id: string;
  orderId: string;
  ccy: string;
  amount: number;
}

/** Every Avro record of the project, by short name. */
export interface AvroRecords {
  Customer: Customer;
  Order: Order;
  OrderEnriched: OrderEnriched;
  OrderValidation: OrderValidation;
  OrderValue: OrderValue;
  Payment: Payment;
}

export type AvroRecordName = keyof AvroRecords;

export const avroRecordNames = ['Customer', 'Order', 'OrderEnriched', 'OrderValidation', 'OrderValue', 'Payment'] as const satisfies readonly AvroRecordName[];
