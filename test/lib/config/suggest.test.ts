import test from "ava";
import { closest, editDistance, suggestion } from "../../../lib/config/suggest.js";

test("edit distance counts a swap of neighbours as one edit", (t) => {
  t.is(editDistance("capacity", "capacity"), 0);
  t.is(editDistance("capcity", "capacity"), 1);
  t.is(editDistance("capacity", "capaicty"), 1);
  t.is(editDistance("kitten", "sitting"), 3);
  t.is(editDistance("", "abc"), 3);
});

test("suggests the closest plausible candidate, or none", (t) => {
  const keys = ["capacity", "transaction_capacity", "when_full", "type"];
  t.is(closest("capcity", keys), "capacity");
  t.is(closest("CAPACITY", keys), "capacity");
  t.is(closest("when-full", keys), "when_full");
  t.is(closest("colour", keys), undefined);
  t.is(closest("memory", ["mem", "cpu"]), "mem");
});

test("says what is valid when nothing is close", (t) => {
  t.is(suggestion("zzz", ["a", "b"], "channels"), 'channels: "a", "b"');
  t.is(suggestion("evnts", ["events"]), 'did you mean "events"?');
});
