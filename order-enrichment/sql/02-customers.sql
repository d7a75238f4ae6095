-- customers: key = customer id (8-byte big-endian long = ksqlDB's BIGINT in KAFKA format);
-- value = Avro Customer: ID, FIRSTNAME, LASTNAME, EMAIL, ADDRESS, LEVEL.
CREATE TABLE IF NOT EXISTS ${customersTable} (CUSTOMER_ID BIGINT PRIMARY KEY)
  WITH (KAFKA_TOPIC='${customersTopic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO');
