# gc_mmdet developer entry points. `make test` is what CI runs.
ENV ?= $(if $(GC_MMDET_ENV),$(GC_MMDET_ENV),.venv)
PY  := $(ENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo

setup:            ## create/complete the environment (idempotent; seconds when ready)
	bash tools/setup.sh

test: setup       ## the whole test suite, slow end-to-end tests included
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup  ## everything but the tests marked slow
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

demo: setup       ## the main job: train + evaluate Mask R-CNN R50-FPN + GC on synthetic COCO
	$(PY) tools/train.py configs/synthetic/mask-rcnn_r50_fpn_gc_synthetic.py --work-dir work_dirs/demo_gc
