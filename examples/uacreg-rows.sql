-- Example remote registrations for `make run EXAMPLE=reg`: two trunks on a
-- registrar at 127.0.0.1:5080 (any registrar; without one they are retried
-- every reg_retry_interval) and one disabled row (flags 1).
INSERT INTO uacreg (l_uuid, l_username, l_domain, r_username, r_domain, realm,
    auth_username, auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay,
    contact_addr, socket)
VALUES
    ('trunk1', 'alice', 'local.example', 'alice', '127.0.0.1:5080', '',
     'alice', 'secret', '', 'sip:127.0.0.1:5080', 300, 0, 0, '', ''),
    ('trunk2', 'bob', 'local.example', 'bob', '127.0.0.1:5080', '',
     'bob', '', '0123456789abcdef0123456789abcdef', 'sip:127.0.0.1:5080', 600, 0, 2, '', ''),
    ('trunk3', 'carol', 'local.example', 'carol', '127.0.0.1:5080', '',
     'carol', 'secret', '', 'sip:127.0.0.1:5080', 300, 1, 0, '', '');
