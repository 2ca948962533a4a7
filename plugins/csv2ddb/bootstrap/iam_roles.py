"""The service roles (one per Glue engine, the Lambda's), each with one inline least-privilege policy.

No managed policies are attached (no ``*FullAccess``); any other policy found on our role is
drift and ``create`` removes it, so the role grants exactly what ``policies.py`` says.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import policies, tags
from csv2ddb.bootstrap.base import Resource, canonical_policy, is_error
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, Observation
from csv2ddb.bootstrap.policies import Policy
from csv2ddb.engine_spec import EngineSpec
from csv2ddb.job_definitions import role_name


class Role(Resource):
    kind = "iam-role"

    def __init__(
        self,
        ctx: StackContext,
        role_name: str,
        trust: Policy,
        policy_name: str,
        policy: Callable[[StackContext], Policy],
        description: str,
    ) -> None:
        super().__init__(ctx)
        self._name = role_name
        self.trust = trust
        self.policy_name = policy_name
        self.policy = policy
        self.description = description

    @property
    def name(self) -> str:
        return self._name

    def observe(self) -> Observation:
        iam = self.ctx.client("iam")
        try:
            role = iam.get_role(RoleName=self.name)["Role"]
        except ClientError as exc:
            if is_error(exc, "NoSuchEntity"):
                return MISSING
            raise
        actual_tags = tags.from_list(iam.list_role_tags(RoleName=self.name).get("Tags"))
        if not tags.is_owned(actual_tags, self.settings):
            return Observation(exists=True, owned=False)
        drift = tags.drift(actual_tags, self.settings)
        if canonical_policy(role["AssumeRolePolicyDocument"]) != canonical_policy(self.trust):
            drift.append("trust policy differs")
        inline = iam.list_role_policies(RoleName=self.name).get("PolicyNames", [])
        drift += [f"unexpected inline policy {p}" for p in inline if p != self.policy_name]
        if self.policy_name not in inline:
            drift.append(f"inline policy {self.policy_name} missing")
        else:
            doc = iam.get_role_policy(RoleName=self.name, PolicyName=self.policy_name)["PolicyDocument"]
            if canonical_policy(doc) != canonical_policy(self.policy(self.ctx)):
                drift.append(f"inline policy {self.policy_name} differs")
        attached = iam.list_attached_role_policies(RoleName=self.name).get("AttachedPolicies", [])
        drift += [f"unexpected managed policy {p['PolicyArn']}" for p in attached]
        return Observation(exists=True, drift=tuple(drift))

    def create(self) -> str:
        iam = self.ctx.client("iam")
        iam.create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(self.trust),
            Description=self.description,
            Tags=tags.as_list(self.settings.tags),
        )
        self._put_policy()
        return f"trust {self.trust['Statement'][0]['Principal']['Service']}, inline policy {self.policy_name}"

    def _put_policy(self) -> None:
        self.ctx.client("iam").put_role_policy(
            RoleName=self.name, PolicyName=self.policy_name, PolicyDocument=json.dumps(self.policy(self.ctx))
        )

    def repair(self, observed: Observation) -> str:
        iam = self.ctx.client("iam")
        iam.tag_role(RoleName=self.name, Tags=tags.as_list(self.settings.tags))
        iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=json.dumps(self.trust))
        self._put_policy()
        self._remove_other_policies(keep=self.policy_name)
        return "; ".join(observed.drift)

    def _remove_other_policies(self, keep: str | None) -> None:
        iam = self.ctx.client("iam")
        for name in iam.list_role_policies(RoleName=self.name).get("PolicyNames", []):
            if name != keep:
                iam.delete_role_policy(RoleName=self.name, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=self.name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=self.name, PolicyArn=attached["PolicyArn"])

    def delete(self) -> str:
        self._remove_other_policies(keep=None)
        self.ctx.client("iam").delete_role(RoleName=self.name)
        return "inline policies removed, role deleted"


def job_role(ctx: StackContext, spec: EngineSpec) -> Role:
    """A Glue engine's role, with that engine's own policy (``policies.job_policy``)."""
    return Role(
        ctx,
        role_name(ctx.settings, spec.name),
        policies.glue_trust_policy(),
        spec.policy_name,
        lambda ctx: policies.job_policy(ctx, spec.name),
        f"csv2ddb {ctx.settings.prefix}: {spec.role_title} (read raw/, write items table)",
    )


def lambda_role(ctx: StackContext) -> Role:
    return Role(
        ctx,
        ctx.settings.lambda_role_name,
        policies.lambda_trust_policy(),
        policies.LAMBDA_POLICY_NAME,
        policies.lambda_policy,
        f"csv2ddb {ctx.settings.prefix}: S3-event Lambda that triggers the load DAG",
    )
