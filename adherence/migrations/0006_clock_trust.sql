-- Version 6: events logged before the wall clock was trusted carry a mark
-- (dispenser.Event.ClockUntrusted): their time is what an unset clock read,
-- perhaps 1970, and the clinic shows them as such instead of refusing them.
ALTER TABLE events ADD COLUMN clock_untrusted INTEGER NOT NULL DEFAULT 0;
