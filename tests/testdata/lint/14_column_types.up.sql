CREATE TABLE events (
  id integer PRIMARY KEY,
  name varchar(80) NOT NULL,
  happened_at timestamp NOT NULL DEFAULT now(),
  payload json
);
-- quiet: the recommended types
CREATE TABLE good_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  happened_at timestamptz NOT NULL DEFAULT now(),
  payload jsonb
);
