-- A pending transfer whose entity changed owner since it was asked for (an import, an admin's
-- direct transfer) is `cancelled`: accepting it would hand over an entity the requesting team
-- no longer owns. `decided_by` then names who cancelled it (`system:import`, or the lead whose
-- decision found it stale).
ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check
    CHECK (status IN ('pending', 'accepted', 'rejected', 'cancelled'));
