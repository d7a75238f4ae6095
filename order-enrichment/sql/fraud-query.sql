-- GET /fraud: a pull query (a table scan) of the fraud table. Pull queries have no ORDER BY:
-- the service sorts newest windows first and applies the limit.
SELECT CUSTOMERID, FIRSTNAME, LASTNAME, COUNTS, WINDOWSTART, WINDOWEND
  FROM ${fraudTable};
