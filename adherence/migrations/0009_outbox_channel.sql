-- Version 8 (issue 17): how an outbox row reaches its recipient: '' a
-- text, 'call' a voice call that says the body and asks for a key. Rows
-- from before are texts. (The quality branch also has a 0008; whichever
-- merges second renumbers its file, as the runner allows no gap.)
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT '' CHECK (channel IN ('', 'call'));
