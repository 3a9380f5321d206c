"""The `keel` command line: exit codes, one-line usage errors, config precedence."""

import os
import subprocess
import tempfile
import unittest

from keel_server import KeelServer, run_keel, write_temp

LISTEN = ["--http", "127.0.0.1:0"]


class UsageTest(unittest.TestCase):
    def test_version(self):
        r = run_keel(["version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^keel \d+\.\d+\.\d+")

    def test_help_serve(self):
        r = run_keel(["help", "serve"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--threads", r.stdout)
        self.assertIn("hello", r.stdout)

    def assertUsageError(self, args, *mentions, env=None):
        """keel exits 2 with exactly one stderr line that names the problem."""
        r = run_keel(args, env=env)
        self.assertEqual(r.returncode, 2, "args=%s stderr=%r" % (args, r.stderr))
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, "want one stderr line, got %r" % r.stderr)
        self.assertTrue(r.stderr.endswith("\n"))
        self.assertTrue(lines[0].startswith("keel: error: "), lines[0])
        for word in mentions:
            self.assertIn(word, lines[0])
        return lines[0]

    def test_unknown_command(self):
        self.assertUsageError(["frobnicate"], "frobnicate")

    def test_help_for_unknown_command(self):
        self.assertUsageError(["help", "frobnicate"], "frobnicate")

    def test_no_command(self):
        self.assertUsageError([])

    def test_unknown_service(self):
        self.assertUsageError(["serve", "nosuch"] + LISTEN, "nosuch", "hello")

    def test_unknown_flag(self):
        self.assertUsageError(["serve", "hello", "--bogus"] + LISTEN, "--bogus")

    def test_flag_without_value(self):
        self.assertUsageError(["serve", "hello"] + LISTEN + ["--threads"], "--threads")

    def test_threads_not_a_number(self):
        self.assertUsageError(["serve", "hello", "--threads", "abc"] + LISTEN,
                              "http.threads", "abc", "--threads")

    def test_threads_zero(self):
        self.assertUsageError(["serve", "hello", "--threads", "0"] + LISTEN,
                              "http.threads", "range")

    def test_bad_http_address(self):
        for bad in ["nonsense", "127.0.0.1:99999", "127.0.0.1:"]:
            with self.subTest(address=bad):
                self.assertUsageError(["serve", "hello", "--http", bad], "http.listen", bad)

    def test_bad_values_for_other_flags(self):
        self.assertUsageError(["serve", "hello", "--log-level", "loud"] + LISTEN, "log.level",
                              "loud")
        self.assertUsageError(["serve", "hello", "--access-log", "maybe"] + LISTEN, "log.access")
        self.assertUsageError(["serve", "hello", "--set", "http.idle_timeout=soon"] + LISTEN,
                              "http.idle_timeout", "soon")
        self.assertUsageError(["serve", "hello", "--set", "no_equals_sign"] + LISTEN,
                              "no_equals_sign")
        self.assertUsageError(["serve", "hello", "--set", "http.nope=1"] + LISTEN, "http.nope")

    def test_bad_env_value(self):
        self.assertUsageError(["serve", "hello"] + LISTEN, "KEEL_HTTP_THREADS", "abc",
                              env={"KEEL_HTTP_THREADS": "abc"})


class ConfigFileErrorsTest(unittest.TestCase):
    def setUp(self):
        self.paths = []

    def tearDown(self):
        for p in self.paths:
            os.unlink(p)

    def config(self, text):
        path = write_temp(text)
        self.paths.append(path)
        return path

    def assertConfigError(self, path, *mentions, env=None, args=None, timeout=10):
        try:
            r = run_keel(args or ["serve", "hello", "--config", path] + LISTEN, env=env,
                         timeout=timeout)
        except subprocess.TimeoutExpired:
            raise self.failureException("keel accepted config %r and kept running" % path) \
                from None
        self.assertEqual(r.returncode, 2, "stderr=%r" % r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, "want one stderr line, got %r" % r.stderr)
        self.assertTrue(lines[0].startswith("keel: error: "), lines[0])
        for word in mentions:
            self.assertIn(word, lines[0])

    def test_invalid_yaml(self):
        path = self.config("http: [unclosed\n")
        self.assertConfigError(path, path, "YAML")

    def test_tab_indented_yaml(self):
        path = self.config("http:\n\tthreads: 3\n")
        self.assertConfigError(path, path, "YAML")

    def test_top_level_not_a_map(self):
        path = self.config("- http\n- log\n")
        self.assertConfigError(path, path)

    def test_unknown_key(self):
        path = self.config("http:\n  bogus: 1\n")
        self.assertConfigError(path, "http.bogus", path)

    def test_invalid_value(self):
        path = self.config("http:\n  threads: many\n")
        self.assertConfigError(path, "http.threads", "many", path)

    def test_key_without_value(self):
        path = self.config("http:\n  threads:\n")
        self.assertConfigError(path, "http.threads", path)

    def test_missing_file(self):
        missing = os.path.join(tempfile.gettempdir(), "keel-it-does-not-exist.yaml")
        self.assertConfigError(missing, missing)

    def test_missing_file_from_keel_config(self):
        missing = os.path.join(tempfile.gettempdir(), "keel-it-does-not-exist.yaml")
        self.assertConfigError(missing, missing, env={"KEEL_CONFIG": missing},
                               args=["serve", "hello"] + LISTEN)

    # Regression test (this was a server bug): a directory
    # passed as --config is accepted as an empty config and the server starts
    # with defaults (run_keel then times out). std::ifstream opens a directory
    # on Linux, the read yields "", and YAML::Load("") is a null document.
    # Expected: exit 2 with "config: cannot read file '<dir>'".
    def test_directory_as_config_file(self):
        directory = tempfile.mkdtemp(prefix="keel-it-")
        try:
            self.assertConfigError(directory, directory, timeout=3)
        finally:
            os.rmdir(directory)


class PrecedenceTest(unittest.TestCase):
    def setUp(self):
        self.server = None

    def tearDown(self):
        if self.server is not None:
            self.server.kill()

    def threads_of(self, **kwargs):
        self.server = KeelServer(**kwargs).start()
        threads = self.server.listening["threads"]
        workers = self.server.metrics().find("keel_event_loop_lag_seconds")
        self.assertEqual(len(workers), threads, "listening line and worker count disagree")
        self.assertEqual(self.server.stop(), 0)
        return threads

    def test_flag_beats_env_beats_file(self):
        file = "http:\n  threads: 3\n"
        self.assertEqual(self.threads_of(config=file, threads=None), 3)
        self.assertEqual(self.threads_of(config=file, threads=None,
                                         env={"KEEL_HTTP_THREADS": "2"}), 2)
        self.assertEqual(self.threads_of(config=file, threads=1,
                                         env={"KEEL_HTTP_THREADS": "2"}), 1)

    def test_set_flag_beats_env(self):
        self.assertEqual(self.threads_of(threads=None, args=["--set", "http.threads=3"],
                                         env={"KEEL_HTTP_THREADS": "2"}), 3)

    def test_keel_config_env_selects_the_file(self):
        path = write_temp("http:\n  listen: 127.0.0.1:0\n  threads: 3\nlog:\n  level: info\n")
        try:
            self.assertEqual(self.threads_of(http=None, threads=None,
                                             env={"KEEL_CONFIG": path}), 3)
            self.assertGreater(self.server.port, 0)
        finally:
            os.unlink(path)

    def test_config_flag_beats_keel_config_env(self):
        path = write_temp("http:\n  threads: 1\n")
        missing = os.path.join(tempfile.gettempdir(), "keel-it-does-not-exist.yaml")
        try:
            self.assertEqual(self.threads_of(threads=None, args=["--config", path],
                                             env={"KEEL_CONFIG": missing}), 1)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main()
