"""The records: WIT names accepted for enums, wrong types refused with the field's name."""

from __future__ import annotations

import unittest

import support  # noqa: F401

from engine_stage import Delivery, Descriptor, Permissions, WorkspaceAccess


class PermissionsTests(unittest.TestCase):
    def test_names_and_enums_are_both_accepted(self):
        self.assertIs(Permissions(workspace="write").workspace, WorkspaceAccess.WRITE)
        self.assertIs(Permissions(workspace=WorkspaceAccess.READ).workspace, WorkspaceAccess.READ)
        self.assertEqual(Permissions(exec=("git", "cargo")).exec, ["git", "cargo"])
        self.assertIs(Descriptor("x", delivery="at_most_once").delivery, Delivery.AT_MOST_ONCE)

    def test_mistakes_name_the_field(self):
        cases = [
            (
                lambda: Permissions(workspace="rw"),
                "permissions.workspace must be one of 'none', 'read', 'write'",
            ),
            (
                lambda: Permissions(exec="git"),
                "permissions.exec must be a list of strings, not 'git'",
            ),
            (
                lambda: Permissions(exec=["git", 1]),
                "permissions.exec must be a list of strings; 1 is not a string",
            ),
            (lambda: Permissions(agent="yes"), "permissions.agent must be True or False"),
            (lambda: Descriptor(""), "Descriptor.name must not be empty"),
            (lambda: Descriptor("x", version=1), "Descriptor.version must be a string"),
            (
                lambda: Descriptor("x", permissions={"workspace": "read"}),
                "engine_stage.Permissions(...)",
            ),
            (lambda: Descriptor("x", delivery="twice"), "Descriptor.delivery must be one of"),
        ]
        for make, message in cases:
            with self.assertRaises((TypeError, ValueError)) as caught:
                make()
            self.assertIn(message, str(caught.exception))

    def test_the_config_schema_travels_as_json_text(self):
        self.assertEqual(
            Descriptor("x", config_schema={"type": "object"}).config_schema_json(),
            '{"type":"object"}',
        )
        self.assertEqual(
            Descriptor("x", config_schema='{"type": "object"}').config_schema_json(),
            '{"type": "object"}',
        )
        with self.assertRaises(ValueError) as caught:
            Descriptor("x", config_schema="{not json").config_schema_json()
        self.assertIn("Descriptor.config_schema is not JSON", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            Descriptor("x", config_schema={"default": {1, 2}}).config_schema_json()
        self.assertIn("Descriptor.config_schema must be JSON", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
