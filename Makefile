# Two commands on a fresh machine: `make demo` (the main job) and `make test` (the tests).
# Both create or reuse the virtual environment $(VENV) and install what they need.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PIP_TORCH_ARGS ?=
DEMO_DIR ?= demo_output
PYTEST_ARGS ?=
ROS_WHEELS ?= requirements/ros-wheels.txt

BIN := $(VENV)/bin
STAMP := $(VENV)/.depth_ros-installed

.PHONY: demo test lint bench clean

$(STAMP): setup.py setup.cfg package.xml requirements/*.txt tools/setup_venv.sh
	VENV='$(VENV)' PYTHON='$(PYTHON)' TORCH_SPEC='$(TORCH_SPEC)' PIP_TORCH_ARGS='$(PIP_TORCH_ARGS)' \
		ROS_WHEELS='$(ROS_WHEELS)' bash tools/setup_venv.sh
	touch $@

demo: $(STAMP)
	$(BIN)/depth-ros demo --out $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/repair_tensorrt_stubs.py .typestubs
	$(BIN)/mypy depth_ros/runtime/tensorrt_build.py depth_ros/runtime/tensorrt_backend.py

bench: $(STAMP)
	$(BIN)/python benchmarks/generator_speed.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build install log .pytest_cache
