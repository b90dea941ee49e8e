-- The trunks of `make run-opensips` (examples/opensips-uac-reg.cfg): the stock
-- uac_registrant keeps these registrations with the registrar at
-- 127.0.0.1:5080 (examples/opensips-registrar.cfg; the run script puts its port
-- and the trunks' own port (5060) here when they differ), answering the 401s
-- through our uac_auth. The accounts are the registrar's subscriber rows
-- (examples/subscriber-rows.sql); uac_registrant takes plain passwords only.
--   trunk1  alice, password 'secret'
--   trunk2  bob, password 'bobsecret'
--   trunk3  carol, disabled (state 1)
INSERT INTO registrant (registrar, aor, username, password, binding_URI, expiry, state)
VALUES
    ('sip:127.0.0.1:5080', 'sip:alice@127.0.0.1:5080', 'alice', 'secret',
     'sip:trunk1@127.0.0.1:5060', 300, 0),
    ('sip:127.0.0.1:5080', 'sip:bob@127.0.0.1:5080', 'bob', 'bobsecret',
     'sip:trunk2@127.0.0.1:5060', 600, 0),
    ('sip:127.0.0.1:5080', 'sip:carol@127.0.0.1:5080', 'carol', 'secret',
     'sip:trunk3@127.0.0.1:5060', 300, 1);
