import test from "ava";
import { compileGlobs, compileIncludeExclude, globToRegExp } from "../../lib/glob.js";

test("* matches any run of characters, / included, ? exactly one", (t) => {
  const m = compileGlobs(["sd*", "/var*", "eth?"]);
  t.true(m("sda"));
  t.true(m("sd"));
  t.true(m("/var/lib/docker"));
  t.true(m("eth0"));
  t.false(m("eth10"));
  t.false(m("nvme0n1"));
  t.false(m("xsda"), "anchored at the start");
});

test("everything else is literal", (t) => {
  const m = compileGlobs(["a.b", "c+(d)", "[x]", "^$|"]);
  t.true(m("a.b"));
  t.false(m("aXb"));
  t.true(m("c+(d)"));
  t.true(m("[x]"));
  t.false(m("x"));
  t.true(m("^$|"));
  t.is(globToRegExp(["a.b*"]).source, "^(?:a\\.b.*)$");
});

test("patterns without wildcards match exactly", (t) => {
  const m = compileGlobs(["lo", "eth0"]);
  t.true(m("lo"));
  t.false(m("lo0"));
  t.false(compileGlobs([])("anything"));
});

test("include/exclude: absent or empty include keeps all, exclude applies after", (t) => {
  t.true(compileIncludeExclude(undefined)("x"));
  t.true(compileIncludeExclude({ include: [] })("x"));
  const onlyEth = compileIncludeExclude({ include: ["eth*", "lo"], exclude: ["eth1"] });
  t.true(onlyEth("eth0"));
  t.false(onlyEth("eth1"));
  t.false(onlyEth("docker0"));
  const noLoop = compileIncludeExclude({ exclude: ["loop*", "ram?"] });
  t.false(noLoop("loop3"));
  t.false(noLoop("ram0"));
  t.true(noLoop("ram10"));
  t.true(noLoop("sda"));
});
