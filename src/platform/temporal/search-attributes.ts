import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes operators filter by in the Temporal UI; registered on the dev server at start. */
export const PrivacyRequestId = defineSearchAttributeKey('PrivacyRequestId', SearchAttributeType.KEYWORD);
export const JiraConnection = defineSearchAttributeKey('JiraConnection', SearchAttributeType.KEYWORD);
export const JiraTicketKey = defineSearchAttributeKey('JiraTicketKey', SearchAttributeType.KEYWORD);
export const JiraStatusCategory = defineSearchAttributeKey('JiraStatusCategory', SearchAttributeType.KEYWORD);
export const TaskState = defineSearchAttributeKey('TaskState', SearchAttributeType.KEYWORD);
export const AnomalyId = defineSearchAttributeKey('AnomalyId', SearchAttributeType.KEYWORD);

export const searchAttributes = [PrivacyRequestId, JiraConnection, JiraTicketKey, JiraStatusCategory, TaskState, AnomalyId];
