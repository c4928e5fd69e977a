-- A typical webhook payload is 2-10 KB of JSON and compresses to about half. By default PostgreSQL
-- compresses rows over ~2 KB and moves what is still over 2 KB to the TOAST table (two more heap
-- tuples and index entries per delivery). With a 4000-byte target a compressed payload stays in the
-- row: fewer writes per delivery, and a smaller table (issue 6, measured in the intake benchmark).
ALTER TABLE "webhook_inbox" SET (toast_tuple_target = 4000);
