-- The registrar's accounts for `make run` and `make run-opensips`
-- (examples/registrar.cfg, examples/opensips-registrar.cfg: auth_db reads
-- the ha1 column, HA1 = md5('user:registrar.example:password')). They match
-- the trunks of examples/uacreg-rows.sql (Kamailio) and
-- examples/opensips-registrant-rows.sql (OpenSIPS). The same INSERT fits
-- Debian's Kamailio schema and OpenSIPS 3.6's.
INSERT INTO subscriber (username, domain, password, ha1) VALUES
    -- password 'secret'
    ('alice', 'registrar.example', 'secret', 'd859056200415b2cf9a28b72e98f3e5c'),
    -- password 'bobsecret'; trunk2 has only this HA1
    ('bob', 'registrar.example', 'bobsecret', 'ca5fa7ca46d7fe39642792cd585fa48c'),
    -- password 'secret' (trunk3 is disabled)
    ('carol', 'registrar.example', 'secret', 'f2136351090fcb7429256681ff42593b');
