# The two commands of the quick start: `make run` and `make test`; `make unit`, `make bench`; and packaging/deploying
# to AWS (README).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Deployment: STAGE is dev or prod (.chalice/config.json); the stack is billrun-<stage>.
STAGE ?= dev
STACK ?= billrun-$(STAGE)
BUILD := build/$(STAGE)
# `chalice package` needs a region to start, though the template it writes is region-independent.
PACKAGE_REGION := $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),us-east-1)

.PHONY: run test unit bench install openapi infra package lint-infra deploy clean check-stage check-deploy

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium, which the console's browser tests drive through Playwright (Playwright cannot download one
# here). Installed once; `sudo` when not root.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q chromium >/dev/null || \
		{ $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -q >/dev/null && \
		  $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q chromium >/dev/null; }

run: $(STAMP)
	$(PY) -m chalicelib.local.stack

# One pytest-xdist worker per core (TEST_WORKERS=0: one process), a test file's tests on one worker.
TEST_WORKERS ?= auto
test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15

# The pure tests alone (tests/unit: no moto, boto3 or app imported; tests/test_unit_run.py checks it), in one process.
unit: $(STAMP)
	$(PY) -m pytest tests/unit

# A benchmark, not a test (docs/benchmark.md): one JSON object on stdout, everything else on stderr (the venv
# is made first, as for run and test). N subscriptions (default 10,000); ARGS: any other `python -m bench` option.
bench:
	@$(MAKE) --no-print-directory $(STAMP) >&2
	@$(PY) -m bench $(if $(N),--subscriptions $(N)) $(ARGS)

openapi: $(STAMP)
	$(PY) -m chalicelib.api > openapi.json

# infra/merge-<stage>.json, generated from the models, the app and .chalice/config.json
infra: $(STAMP)
	$(PY) -m infra

check-stage:
	@case "$(STAGE)" in dev|prod) ;; *) echo "STAGE must be dev or prod (got '$(STAGE)')" >&2; exit 2;; esac

# build/<stage>/sam.json (+ deployment.zip, layer-deployment.zip): Chalice's SAM template merged with infra's
package: check-stage infra
	rm -rf $(BUILD)
	AWS_DEFAULT_REGION=$(PACKAGE_REGION) $(VENV)/bin/chalice package --stage $(STAGE) \
		--merge-template infra/merge-$(STAGE).json $(BUILD)/

lint-infra: package
	$(VENV)/bin/cfn-lint --include-checks I -- $(BUILD)/sam.json

# Needs the aws CLI, AWS credentials, a region (AWS_REGION or the profile's) and ARTIFACTS_BUCKET=<S3 bucket>
# for the code zips; ALARM_EMAIL=<address> subscribes to the alarms.
deploy: check-deploy lint-infra
	aws cloudformation package --template-file $(BUILD)/sam.json --s3-bucket $(ARTIFACTS_BUCKET) \
		--s3-prefix $(STACK) --output-template-file $(BUILD)/packaged.json --use-json
	aws cloudformation deploy --template-file $(BUILD)/packaged.json --stack-name $(STACK) \
		--capabilities CAPABILITY_IAM $(if $(ALARM_EMAIL),--parameter-overrides AlarmEmail=$(ALARM_EMAIL))

check-deploy: check-stage
	@test -n "$(ARTIFACTS_BUCKET)" || { echo "make deploy needs ARTIFACTS_BUCKET=<S3 bucket for the code artifacts>" >&2; exit 2; }
	@command -v aws >/dev/null || { echo "make deploy needs the aws CLI (https://aws.amazon.com/cli/)" >&2; exit 2; }

clean:
	rm -rf $(VENV) .pytest_cache build
