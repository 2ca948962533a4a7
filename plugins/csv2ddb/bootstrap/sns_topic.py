"""The SNS topic the DAG's failure alerts go to (subscribe email/chat to it yourself)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.model import MISSING, Observation


class AlertsTopic(Resource):
    kind = "sns-topic"

    @property
    def name(self) -> str:
        return self.settings.alerts_topic_name

    def observe(self) -> Observation:
        sns = self.ctx.client("sns")
        try:
            sns.get_topic_attributes(TopicArn=self.ctx.topic_arn)
        except ClientError as exc:
            if is_error(exc, "NotFound", "NotFoundException"):
                return MISSING
            raise
        actual = tags.from_list(sns.list_tags_for_resource(ResourceArn=self.ctx.topic_arn).get("Tags"))
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        return Observation(exists=True, drift=tuple(tags.drift(actual, self.settings)))

    def create(self) -> str:
        arn = self.ctx.client("sns").create_topic(Name=self.name, Tags=tags.as_list(self.settings.tags))
        return arn["TopicArn"]

    def repair(self, observed: Observation) -> str:
        sns = self.ctx.client("sns")
        sns.tag_resource(ResourceArn=self.ctx.topic_arn, Tags=tags.as_list(self.settings.tags))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("sns").delete_topic(TopicArn=self.ctx.topic_arn)
        return "deleted"
