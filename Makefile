# gc_mmdet developer entry points. `make test` is what CI runs.
ENV ?= $(if $(GC_MMDET_ENV),$(GC_MMDET_ENV),.venv)
PY  := $(ENV)/bin/python
PYTEST_ARGS ?=
# the tests run in PYTEST_WORKERS pytest-xdist workers, whole files each, the
# longest recorded first (tests/helpers/schedule.py); each worker and what it
# starts gets its share of the cores as torch threads (tests/conftest.py).
# 3 on this project's 2 cores: the workers wait on processes they start (88%
# of 2 cores busy with 2 workers, 94% with 3; measured at 7304a3b)
PYTEST_WORKERS ?= 3
XDIST := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
# the oldest stack tested: torch 2.1.2, numpy 1.x (tools/setup/oldest_stack.sh)
OLDEST_ENV ?= .venv-oldest

.PHONY: setup lint test test-fast oldest-stack deepspeed-extra mmpretrain-extra slurm-extra test-oldest demo demo-publish demo-r50 compare compare-publish

DEMO_CONFIG ?= configs/synthetic/mask-rcnn_r18-half_fpn_gn-all_gc_demo.py
DEMO_WORK_DIR ?= work_dirs/demo

setup:            ## create/complete the environment (idempotent; seconds when ready)
	bash tools/setup.sh

lint: setup       ## ruff: lint, import order and format of the whole tree (pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: setup lint oldest-stack deepspeed-extra mmpretrain-extra slurm-extra  ## lint (first: seconds), the whole suite (slow tests included), the fast tests on the oldest stack
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)
	$(OLDEST_ENV)/bin/python -m pytest -m "not slow" $(XDIST) $(PYTEST_ARGS)

test-fast: setup  ## everything but the tests marked slow
	$(PY) -m pytest -m "not slow" $(XDIST) $(PYTEST_ARGS)

deepspeed-extra: setup  ## deepspeed for its tests, in .venv-deepspeed-lib/ (not in the environment)
	bash tools/setup/test_extra.sh deepspeed

mmpretrain-extra: setup  ## mmpretrain for the ConvNeXt configs' tests, in .venv-mmpretrain-lib/ (not in the environment)
	bash tools/setup/test_extra.sh mmpretrain

slurm-extra:      ## Debian's slurm-wlm + munge for the real-Slurm tests, when run as root (else they skip)
	bash tools/setup/slurm.sh

oldest-stack:     ## a user's torch 2.1 / numpy 1.x environment, completed by GC_MMDET_ENV=... setup
	bash tools/setup/oldest_stack.sh $(OLDEST_ENV)

test-oldest: oldest-stack  ## the fast tests on the oldest stack
	$(OLDEST_ENV)/bin/python -m pytest -m "not slow" $(XDIST) $(PYTEST_ARGS)

demo: setup       ## the main job: train + evaluate Mask R-CNN + FPN + GC on synthetic COCO, report in $(DEMO_WORK_DIR); changes no tracked file, so it reruns
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	$(PY) tools/demo_report.py $(DEMO_CONFIG) $(DEMO_WORK_DIR)

demo-publish: setup  ## maintainers, from a clean commit: the demo, published to docs/results and rendered into README and docs
	$(PY) tools/demo_report.py $(DEMO_CONFIG) $(DEMO_WORK_DIR) --publish docs/results --check-publish
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK_DIR)
	$(PY) tools/demo_report.py $(DEMO_CONFIG) $(DEMO_WORK_DIR) --publish docs/results
	$(PY) tools/render_docs.py

demo-r50: setup   ## Table 9's Mask R-CNN R50-FPN + GC on synthetic COCO (learns little on a CPU budget)
	$(PY) tools/train.py configs/synthetic/mask-rcnn_r50_fpn_gc_synthetic.py --work-dir work_dirs/demo_r50_gc

compare: setup    ## the demo with and without GC over 5 seeds: paired test, band plot, verdict in work_dirs/compare_demo; changes no tracked file
	$(PY) tools/compare_seeds.py --out work_dirs/compare_demo

compare-publish: setup  ## maintainers, from a clean commit: make compare, published to docs/results and rendered into README and docs
	$(PY) tools/compare_seeds.py --out work_dirs/compare_demo --publish docs/results
	$(PY) tools/render_docs.py
