"""Check the built sdist and wheel (``python .ci/check_dist.py DIST``), as a new project would see them.

- the sdist holds the package, LICENSE and the documents, and no tests (they run from a checkout);
- the wheel's metadata names the license (BSD-3-Clause, with the LICENSE file), the project URLs and
  the version from ``django_oauth_par.__version__``;
- installed into a fresh virtual environment, a new Django project lists the app and its checks pass.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fail(message: str) -> None:
    print(f"check_dist: {message}", file=sys.stderr)
    sys.exit(1)


def version() -> str:
    text = (ROOT / "django_oauth_par" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        fail("no __version__ in django_oauth_par/__init__.py")
    return match.group(1) if match else ""


def check_sdist(path: Path) -> None:
    with tarfile.open(path) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "django_oauth_par/py.typed",
        "django_oauth_par/migrations/__init__.py",
    ):
        if needed not in names:
            fail(f"{path.name} lacks {needed}")
    tests = [name for name in names if name.startswith(("tests/", "bench/", "example_project/"))]
    if tests:
        fail(f"{path.name} holds part of the test suite, which cannot run from it: {tests[:5]}")


def check_wheel(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        metadata_name = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
        if not any(name.endswith(".dist-info/licenses/LICENSE") for name in archive.namelist()):
            fail(f"{path.name} does not carry LICENSE")
    expected = {"License-Expression": "BSD-3-Clause", "Version": version(), "Name": "django-oauth-par"}
    for field, value in expected.items():
        if metadata.get(field) != value:
            fail(f"{path.name}: {field} is {metadata.get(field)!r}, not {value!r}")
    urls = metadata.get_all("Project-URL") or []
    if not any(url.startswith("Source, https://") for url in urls):
        fail(f"{path.name} has no Source URL: {urls}")


def check_install(wheel: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        env_dir = Path(folder) / "venv"
        venv.create(env_dir, with_pip=True)
        python = str(env_dir / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
        subprocess.run([python, "-m", "django", "startproject", "newsite", folder], check=True)
        settings = Path(folder) / "newsite" / "settings.py"
        text = settings.read_text().replace(
            "INSTALLED_APPS = [",
            'INSTALLED_APPS = [\n    "oauth2_provider",\n    "django_oauth_par",',
        )
        text += (
            '\nMIDDLEWARE.append("django_oauth_par.middleware.PushedAuthorizationMiddleware")\n'
            'OAUTH2_PROVIDER = {"PAR_ENABLED": False}\n'
        )
        settings.write_text(text)
        urls = Path(folder) / "newsite" / "urls.py"
        urls.write_text(
            urls.read_text().replace("from django.urls import path", "from django.urls import include, path")
            + 'urlpatterns += [path("o/", include("django_oauth_par.urls")), '
            'path("o/", include("oauth2_provider.urls"))]\n'
        )
        subprocess.run([python, "manage.py", "check"], cwd=folder, check=True)
        script = (
            "import importlib.metadata as m; d = m.metadata('django-oauth-par'); "
            "print(*(f'{k}: {v}' for k, v in d.items() if k in "
            "('Name', 'Version', 'License-Expression', 'License-File', 'Project-URL', 'Requires-Python')), "
            "sep=chr(10))"
        )
        shown = subprocess.run([python, "-c", script], check=True, capture_output=True, text=True).stdout
        print(shown)
        if "License-Expression: BSD-3-Clause" not in shown:
            fail("the installed distribution does not name its license")


def main() -> None:
    dist = Path(sys.argv[1])
    sdists = list(dist.glob("*.tar.gz"))
    wheels = list(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        fail(f"expected one sdist and one wheel in {dist}, found {sdists + wheels}")
    check_sdist(sdists[0])
    check_wheel(wheels[0])
    check_install(wheels[0])
    print(f"check_dist: {sdists[0].name} and {wheels[0].name} are fine")


if __name__ == "__main__":
    main()
