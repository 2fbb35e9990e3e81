-- Privileges are configuration, never a group's name: the first migration seeded the mappings
-- `admins -> admin` and `auditors -> auditor`, so anyone who could create or join a group of
-- that name at the identity provider became an admin or auditor of every new install. They
-- are removed unless an admin added (or removed and re-added) them on /admin, which the audit
-- log shows. Admins are now named with `--bootstrap-admin ISSUER:SUB` and mappings with
-- `--role-mapping-file`, or on /admin (see the README, "Sign-in and roles").
DELETE FROM role_mappings m
WHERE (m.idp_group, m.role, m.team) IN (('admins', 'admin', ''), ('auditors', 'auditor', ''))
  AND NOT EXISTS (
      SELECT 1 FROM audit_log a
      WHERE a.action = 'role_mapping.change' AND a.target = 'group:' || m.idp_group
  );
