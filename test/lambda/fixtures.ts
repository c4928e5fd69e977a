// API Gateway proxy events as AWS documents them: the HTTP API payload format 2.0
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
// and the REST API proxy integration input format 1.0
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html),
// plus an EventBridge scheduled event and an SQS batch
// (https://docs.aws.amazon.com/lambda/latest/dg/with-eventbridge-scheduler.html, …/with-sqs.html).

type Request = {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  query?: string;
};

export function httpApiEvent(r: Request) {
  const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: r.path,
    rawQueryString: r.query ?? '',
    headers: {
      host: 'abc123.execute-api.eu-central-1.amazonaws.com',
      'x-forwarded-proto': 'https',
      ...headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: r.method,
        path: r.path,
        protocol: 'HTTP/1.1',
        sourceIp: '198.51.100.7',
        userAgent: 'Shopify',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:14:00:00 +0000',
      timeEpoch: 1_796_306_400_000,
    },
    // HTTP APIs base64-encode bodies they do not treat as text; the handler must decode to the same bytes.
    body: r.body ? r.body.toString('base64') : undefined,
    isBase64Encoded: r.body !== undefined,
  };
}

export function restApiEvent(r: Request) {
  return {
    resource: '/{proxy+}',
    path: r.path,
    httpMethod: r.method,
    headers: {
      Host: 'abc123.execute-api.eu-central-1.amazonaws.com',
      'X-Forwarded-Proto': 'https',
      ...r.headers,
    },
    multiValueHeaders: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: r.path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      httpMethod: r.method,
      identity: { sourceIp: '198.51.100.7', userAgent: 'Shopify' },
      path: `/prod${r.path}`,
      protocol: 'HTTP/1.1',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      resourcePath: '/{proxy+}',
      stage: 'prod',
    },
    body: r.body ? r.body.toString('utf8') : null,
    isBase64Encoded: false,
  };
}

export const scheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-12-03T14:00:00Z',
  region: 'eu-central-1',
  resources: ['arn:aws:events:eu-central-1:123456789012:rule/storeops-worker'],
  detail: {},
};

export const sqsEvent = {
  Records: [
    {
      messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
      receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
      body: '{"wake":"jobs"}',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1796306400000' },
      messageAttributes: {},
      md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-central-1:123456789012:storeops-jobs',
      awsRegion: 'eu-central-1',
    },
  ],
};

/** A Lambda context with `ms` left. */
export const context = (ms = 30_000) => {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now(), callbackWaitsForEmptyEventLoop: true };
};
