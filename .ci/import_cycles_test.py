#!/usr/bin/env python3
"""Tests of `.ci/import-cycles` on small crates written to a temp directory.

Usage: python3 .ci/import_cycles_test.py
"""

import contextlib
import io
import tempfile
import textwrap
import unittest
from pathlib import Path

import ci_script

ic = ci_script.load("import-cycles")


class Crate:
    """A crate named `fixture` with the given files under `src/`."""

    def __init__(self, files):
        self._dir = tempfile.TemporaryDirectory()
        self.root = Path(self._dir.name) / "fixture"
        for name, text in files.items():
            path = self.root / "src" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))

    def circles(self, folders=False):
        """Each circle as a sorted list of `a::b` names."""
        found = ic.circles(ic.load_crate(self.root / "src"), folders)
        return [[ic.name(m) for m in component] for _, component, _ in found]

    def run(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = ic.main([*args, str(self.root)])
        return code, out.getvalue()

    def close(self):
        self._dir.cleanup()


class ImportCycles(unittest.TestCase):
    def crate(self, files):
        crate = Crate(files)
        self.addCleanup(crate.close)
        return crate

    def test_siblings_using_each_other_are_a_circle_and_fail(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::B;\npub struct A;\n",
                "b.rs": "pub struct B;\nfn f() { let _ = crate::a::A; }\n",
            }
        )
        self.assertEqual(crate.circles(), [["a", "b"]])
        code, out = crate.run()
        self.assertEqual(code, 1)
        self.assertIn("a -> b: a.rs:1 use crate::b::B", out)
        self.assertIn("b -> a: b.rs:2 crate::a::A", out)
        self.assertIn("using each other: a <-> b", out)

    def test_report_only_prints_the_circle_and_passes(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::B;\npub struct A;\n",
                "b.rs": "use crate::a::A;\npub struct B;\n",
            }
        )
        code, out = crate.run("--report-only", "fixture")
        self.assertEqual(code, 0)
        self.assertIn("fixture: 1 import circle(s) (report only)", out)

    def test_a_chain_of_three_is_one_circle(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\nmod c;\nmod d;\n",
                "a.rs": "use crate::b::B;\npub struct A;\n",
                "b.rs": "use crate::c::C;\npub struct B;\n",
                "c.rs": "use crate::a::A;\nuse crate::d::D;\npub struct C;\n",
                "d.rs": "pub struct D;\n",
            }
        )
        self.assertEqual(crate.circles(), [["a", "b", "c"]])

    def test_parent_and_child_edges_do_not_count(self):
        crate = self.crate(
            {
                "lib.rs": "mod run;\npub use run::Run;\nfn f() -> Run { run::body::make() }\n",
                "run.rs": "mod body;\npub struct Run;\npub(crate) use body::make;\n",
                "run/body.rs": "use super::Run;\nuse crate::Run as Again;\n"
                "pub(crate) fn make() -> Run { super::super::run::Run }\n",
            }
        )
        self.assertEqual(crate.circles(), [])
        self.assertEqual(crate.run(), (0, "fixture: no import circles\n"))

    def test_re_exports_are_followed_to_the_defining_module(self):
        # `b` names `a`'s type through the crate root's re-export: still b -> a.
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\npub use a::Thing;\n",
                "a.rs": "pub struct Thing;\nfn f() { crate::b::g() }\n",
                "b.rs": "use crate::Thing;\npub fn g() {}\n",
            }
        )
        self.assertEqual(crate.circles(), [["a", "b"]])

    def test_glob_re_exports_are_followed(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\npub use a::*;\n",
                "a.rs": "pub struct Thing;\nfn f() { crate::b::g() }\n",
                "b.rs": "pub fn g() { let _ = crate::Thing; }\n",
            }
        )
        self.assertEqual(crate.circles(), [["a", "b"]])

    def test_grouped_and_nested_use_trees(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\nmod c;\n",
                "a.rs": "use crate::{c::C, b::{self, B as Bee}};\npub struct A;\n",
                "b.rs": "pub struct B;\n",
                "c.rs": "use crate::{\n    a::{A},\n};\npub struct C;\n",
            }
        )
        self.assertEqual(crate.circles(), [["a", "c"]])

    def test_comments_strings_and_doc_examples_do_not_count(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "use crate::b::B;\npub struct A;\n",
                "b.rs": '/// ```\n/// use crate::a::A;\n/// ```\npub struct B;\n'
                '// crate::a::A\n/* crate::a::A /* nested */ crate::a::A */\n'
                'const S: &str = "crate::a::A";\nconst R: &str = r#"crate::a::A"#;\n'
                "const C: char = '\"'; fn f<'x>(_: &'x str) {}\n",
            }
        )
        self.assertEqual(crate.circles(), [])

    def test_a_test_module_using_a_sibling_makes_no_circle(self):
        # `a::tests -> b -> a`: the parent `a` does not use its test module, so no circle.
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "pub struct A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
                "    use crate::b::B;\n}\n",
                "b.rs": "use crate::a::A;\npub struct B;\n",
            }
        )
        self.assertEqual(crate.circles(), [])

    def test_inline_modules_resolve_super_to_their_file(self):
        crate = self.crate(
            {
                "lib.rs": "mod a;\nmod b;\n",
                "a.rs": "pub mod inner {\n    pub fn f() { super::super::b::g() }\n}\n",
                "b.rs": "pub fn g() { crate::a::inner::f() }\n",
            }
        )
        self.assertEqual(crate.circles(), [["a::inner", "b"]])

    def test_folders_lift_edges_to_siblings(self):
        # run::body -> checkin and checkin -> run::ids: no circle between modules, but the
        # folders `run` and `checkin` use each other.
        crate = self.crate(
            {
                "lib.rs": "mod run;\nmod checkin;\n",
                "run.rs": "mod body;\nmod ids;\npub(crate) use ids::Id;\n",
                "run/body.rs": "use crate::checkin::send;\n",
                "run/ids.rs": "pub struct Id;\n",
                "checkin.rs": "use crate::run::Id;\npub fn send(_: Id) {}\n",
            }
        )
        self.assertEqual(crate.circles(), [])
        self.assertEqual(crate.circles(folders=True), [["checkin", "run"]])

    def test_mod_rs_folders_and_missing_files(self):
        crate = self.crate(
            {
                "lib.rs": "mod coordinator;\nmod lease;\n",
                "coordinator/mod.rs": "mod postgres;\npub struct Coordinator;\n",
                "coordinator/postgres.rs": "use crate::lease::Lease;\n",
                "lease.rs": "use crate::coordinator::Coordinator;\npub struct Lease;\n",
            }
        )
        self.assertEqual(crate.circles(), [])
        self.assertEqual(crate.circles(folders=True), [["coordinator", "lease"]])
        broken = self.crate({"lib.rs": "mod gone;\n"})
        with self.assertRaises(SystemExit):
            broken.circles()


if __name__ == "__main__":
    unittest.main()
