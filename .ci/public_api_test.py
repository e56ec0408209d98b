#!/usr/bin/env python3
"""Tests of `.ci/public-api` on a small crate written to a temp directory (rustdoc JSON of it
is built for real, as for the published crates).

Usage: python3 .ci/public_api_test.py
"""

import os
import tempfile
import textwrap
import unittest
from pathlib import Path

import ci_script

pa = ci_script.load("public-api")

LIB = """
//! A fixture.
mod private {
    /// A type defined in a private module, public at the root.
    #[derive(Clone, Debug)]
    pub struct Thing {
        /// A public field.
        pub size: u32,
        hidden_size: u32,
    }

    impl Thing {
        /// A method.
        pub fn grow<T: Into<u32>>(&mut self, by: T) -> Option<&Self> {
            self.size += by.into();
            let _ = self.hidden_size;
            Some(self)
        }

        fn private_helper(&self) {}

        /// Hidden from the docs.
        #[doc(hidden)]
        pub fn internal(&self) {}
    }
}

pub use private::Thing;

/// Shapes.
#[non_exhaustive]
pub enum Shape {
    /// A unit variant.
    Dot,
    /// A tuple variant.
    Line(f64),
    /// A struct variant.
    Box { width: f64, height: f64 },
}

/// Counts down.
pub struct Countdown(pub u8);

impl Iterator for Countdown {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        self.0 = self.0.checked_sub(1)?;
        Some(self.0)
    }
}

/// A trait.
pub trait Named: Send {
    /// Its name.
    fn name(&self) -> &str;
}

/// A constant.
pub const LIMIT: usize = 3;

/// Takes a thing by its public path.
pub fn measure(thing: &Thing, f: impl Fn(u32) -> bool) -> Result<(), String> {
    if f(thing.size) { Ok(()) } else { Err(String::new()) }
}

#[doc(hidden)]
pub mod __private {
    /// Not part of the API.
    pub fn for_macros() {}
}
"""


class PublicApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._dir = tempfile.TemporaryDirectory()
        root = Path(cls._dir.name)
        (root / "src").mkdir()
        (root / "Cargo.toml").write_text(
            '[package]\nname = "fixture-api"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n'
        )
        (root / "src" / "lib.rs").write_text(textwrap.dedent(LIB))
        os.environ.pop("CARGO_TARGET_DIR", None)
        cls.lines = pa.public_api("fixture-api", root)

    @classmethod
    def tearDownClass(cls):
        cls._dir.cleanup()

    def assertHas(self, line):
        self.assertIn(line, self.lines, "\n".join(self.lines))

    def test_items_by_their_public_path_with_signatures(self):
        self.assertHas("pub struct fixture_api::Thing")
        self.assertHas("pub fixture_api::Thing::size: u32")
        self.assertHas("pub struct fixture_api::Thing has private fields")
        self.assertHas(
            "pub fn fixture_api::Thing::grow<T: core::convert::Into<u32>>(&mut self, by: T)"
            " -> core::option::Option<&Self>"
        )
        self.assertHas(
            "pub fn fixture_api::measure(thing: &fixture_api::Thing, f: impl core::ops::function::Fn(u32)"
            " -> bool) -> core::result::Result<(), alloc::string::String>"
        )
        self.assertHas("pub const fixture_api::LIMIT: usize")

    def test_private_and_hidden_items_are_left_out(self):
        text = "\n".join(self.lines)
        for absent in ("private_helper", "internal", "hidden_size", "__private", "for_macros",
                       "fixture_api::private::"):
            self.assertNotIn(absent, text)

    def test_enums_traits_and_impls(self):
        self.assertHas("pub enum fixture_api::Shape")
        self.assertHas("pub fixture_api::Shape::Dot")
        self.assertHas("pub fixture_api::Shape::Line(f64)")
        self.assertHas("pub fixture_api::Shape::Box { width: f64, height: f64 }")
        self.assertHas("pub trait fixture_api::Named: core::marker::Send")
        self.assertHas("fn fixture_api::Named::name(&self) -> &str")
        self.assertHas("impl core::clone::Clone for fixture_api::Thing")
        self.assertHas("impl core::marker::Send for fixture_api::Thing")
        self.assertHas(
            "impl core::iter::traits::iterator::Iterator for fixture_api::Countdown: type Item = u8"
        )
        self.assertHas("pub fixture_api::Countdown::0: u8")

    def test_blanket_and_unnameable_auto_trait_impls_are_left_out(self):
        text = "\n".join(self.lines)
        self.assertNotIn("core::convert::From<T> for T", text)
        self.assertNotIn("impl<T> ", text)
        self.assertNotIn("Freeze", text)


if __name__ == "__main__":
    unittest.main()
