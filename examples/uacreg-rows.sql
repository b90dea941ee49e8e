-- The trunks of `make run` (examples/uac-reg.cfg): remote registrations with
-- the registrar at 127.0.0.1:5080 (examples/registrar.cfg; the run script puts
-- its port here when REGISTRAR_PORT is not 5080). Their users and passwords
-- are the registrar's subscriber rows (examples/subscriber-rows.sql), realm
-- registrar.example:
--   trunk1  alice, plain password 'secret'
--   trunk2  bob, HA1 only: md5('bob:registrar.example:bobsecret'); reg_delay 2
--   trunk3  carol, disabled (flags 1): loaded but never registered
INSERT INTO uacreg (l_uuid, l_username, l_domain, r_username, r_domain, realm,
    auth_username, auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay,
    contact_addr, socket)
VALUES
    ('trunk1', 'alice', 'local.example', 'alice', '127.0.0.1:5080', '',
     'alice', 'secret', '', 'sip:127.0.0.1:5080', 300, 0, 0, '', ''),
    ('trunk2', 'bob', 'local.example', 'bob', '127.0.0.1:5080', '',
     'bob', '', 'ca5fa7ca46d7fe39642792cd585fa48c', 'sip:127.0.0.1:5080', 600, 0, 2, '', ''),
    ('trunk3', 'carol', 'local.example', 'carol', '127.0.0.1:5080', '',
     'carol', 'secret', '', 'sip:127.0.0.1:5080', 300, 1, 0, '', '');
