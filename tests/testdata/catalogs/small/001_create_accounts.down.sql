DROP TABLE accounts;
DROP TABLE owners;
