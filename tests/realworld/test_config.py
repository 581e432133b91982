"""Issue 13 points 7 and 8: `sluice check` and `sluice run` agree, and the defaults are aligned
with each other (SPEC "Real app servers": "`sluice check` and `sluice run` agree").
"""

import json
import os
import re
import shutil
import subprocess
import unittest

import harness
from harness import RealworldTest, free_port, poll

# The pool keeps idle connections 30 s while the server closes them at 5 s: a chain error.
CHAIN_ERROR = """\
access_log: off
admin: { bind: "127.0.0.1:0" }
listeners:
  - { name: web, bind: "127.0.0.1:0", default_backend: app }
timeouts: { upstream_idle: 0s, drain: 2s }
backends:
  - name: app
    keepalive: { idle_timeout: 30s }
    server_defaults: { max_connections: 2, keepalive_timeout: 5s }
    servers:
      - { name: a, address: "127.0.0.1:%d" }
"""

# Only what a new user writes: one listener, one backend with max_connections, its servers.
MINIMAL = """\
listeners:
  - { name: web, bind: "127.0.0.1:8080", default_backend: app }
backends:
  - name: app
    server_defaults: { max_connections: 2 }
    servers:
      - { name: a, address: "127.0.0.1:8000" }
      - { name: b, address: "127.0.0.1:8001" }
"""


class CheckAndRunAgreeTest(RealworldTest):

    def chain_error_config(self):
        return self.write_config(CHAIN_ERROR % free_port())

    def test_check_exits_1_on_a_chain_error(self):
        code, out, err = self.sluice_command(["check", "-c", self.chain_error_config()])
        self.assertEqual(code, 1, out + err)
        self.assertRegex(out + err, r"idle_timeout|keepalive")
        code, out, _ = self.sluice_command(["check", "--format", "json",
                                            "-c", self.chain_error_config()])
        self.assertEqual(code, 1)
        self.assertIn("error", [f["severity"] for f in json.loads(out)["findings"]])

    # point 7: `sluice run` refuses what `sluice check` fails
    def test_run_refuses_a_chain_error(self):
        run = self.spawn("sluice", [self.sluice_binary(), "run", "-c", self.chain_error_config()])
        poll(lambda: not run.running() or "listening on" in run.stderr(), 15)
        code = run.wait(1)
        self.assertIsNotNone(code, "sluice run serves a config that check rejects:\n"
                             + run.stderr())
        self.assertNotEqual(code, 0)
        self.assertRegex(run.stderr(), r"idle_timeout|keepalive")
        self.assertIn("--allow-chain-errors", run.stderr(),
                      "the refusal does not name the override")

    # point 7: --allow-chain-errors starts it anyway, and says so
    def test_run_with_allow_chain_errors_starts_and_logs_it(self):
        run = self.spawn("sluice", [self.sluice_binary(), "run", "-c", self.chain_error_config(),
                                    "--allow-chain-errors"])
        listening = poll(lambda: "admin listening on" in run.stderr() or not run.running(), 15)
        self.assertTrue(listening and run.running(), run.stderr())
        self.assertRegex(run.stderr(), r"(?i)error.*(idle_timeout|keepalive)")
        self.assertIn("allow-chain-errors", run.stderr())

    def sluice_binary(self):
        return harness.SLUICE


class AlignedDefaultsTest(RealworldTest):

    # point 8: the defaults agree with each other (assumed values are notes, not warnings)
    def test_a_minimal_config_gets_no_warning_and_no_error(self):
        path = self.write_config(MINIMAL)
        code, out, err = self.sluice_command(["check", "--strict", "-c", path])
        text = out + err
        self.assertEqual(code, 0, text)
        self.assertIsNone(re.search(r"(?im)^\s*(warning|error)\b", text), text)
        code, out, _ = self.sluice_command(["check", "--format", "json", "-c", path])
        self.assertEqual(code, 0)
        severities = [f["severity"] for f in json.loads(out)["findings"]]
        self.assertEqual([s for s in severities if s in ("warning", "error")], [], out)

    # README's copy-paste configs for gunicorn and uWSGI must stay clean as the rules evolve.
    def test_the_readme_examples_for_gunicorn_and_uwsgi_get_no_warning(self):
        for name in ("gunicorn.yaml", "uwsgi.yaml", "behind-nlb.yaml"):
            path = os.path.join(harness.HERE, "..", "..", "examples", name)
            code, out, err = self.sluice_command(["check", "--strict", "-c", path])
            self.assertEqual(code, 0, name + "\n" + out + err)
            self.assertIsNone(re.search(r"(?im)^\s*(warning|error)\b", out + err), out + err)

    # examples/tls.yaml names certificate files that are not in the repository (no key material
    # is): made here with the openssl commands its comment gives, beside a copy of the file.
    def test_the_tls_example_gets_no_warning_once_its_certificates_exist(self):
        example = os.path.join(harness.HERE, "..", "..", "examples", "tls.yaml")
        if not shutil.which("openssl"):
            self.skipTest("the openssl command is not installed (Debian package openssl)")
        path = os.path.join(self.dir, "tls.yaml")
        shutil.copy(example, path)
        tls_dir = os.path.join(self.dir, "tls")
        os.mkdir(tls_dir)
        code, out, err = self.sluice_command(["check", "-c", path])
        self.assertEqual(code, 1, "the example passes without its certificate files:\n" + out + err)
        self.assertIn(os.path.join(tls_dir, "example.com.crt") + "\" cannot be read", out + err)
        for site in ("example.com", "api.example.com"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                            "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "90",
                            "-subj", "/CN=" + site,
                            "-addext", "subjectAltName=DNS:%s,DNS:www.%s" % (site, site),
                            "-keyout", site + ".key", "-out", site + ".crt"],
                           cwd=tls_dir, check=True, capture_output=True, timeout=30)
        code, out, err = self.sluice_command(["check", "--strict", "-c", path])
        self.assertEqual(code, 0, out + err)
        self.assertIsNone(re.search(r"(?im)^\s*(warning|error)\b", out + err), out + err)
        self.assertRegex(out, r"example\.com, www\.example\.com  expires .* \((89|90) days\)")
        self.assertRegex(out, r"api\.example\.com, www\.api\.example\.com  expires")


if __name__ == "__main__":
    unittest.main()
