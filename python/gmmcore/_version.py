"""The version of gmmcore, in one place for Python (the package and its model files).

The project is built with the same version by pyproject.toml and CMakeLists.txt;
tests/test_documentation.py checks that the three agree.
"""

__version__ = "0.1.0"
