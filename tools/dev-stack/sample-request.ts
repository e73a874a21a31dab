/** An approved privacy request as the upstream system sends it: the tests' and the benchmarks' sample. */
export const approvedRequest = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  request_type: 'erasure',
  status: 'approved',
  submitted_at: '2025-01-15T10:30:00Z',
  approved_at: '2025-01-16T14:00:00Z',
  policy_name: 'Default Erasure Policy',
  identity: { email: 'jane.doe@example.com', phone: '+1-555-0100' },
  request_url: `https://privacy.example.com/privacy-requests/${id}`,
  ...extra,
});
