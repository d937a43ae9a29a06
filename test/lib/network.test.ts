import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { synthesizeAndValidateEnvironment, synthesizeEnvironment } from '../support/stacks';

const existingVpc = {
  vpcId: 'vpc-0123456789abcdef0',
  availabilityZones: ['eu-west-1a', 'eu-west-1b'],
  isolatedSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
  publicSubnetIds: ['subnet-0bbbbbbbbbbbbbbb1', 'subnet-0bbbbbbbbbbbbbbb2'],
};

describe('existing VPC', () => {
  const { stack, template, validationFindings } = synthesizeAndValidateEnvironment('staging', {
    network: { existingVpc },
  });

  it('creates no VPC or endpoints and places the database in the given isolated subnets', () => {
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: existingVpc.isolatedSubnetIds,
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^PostgreSQL'),
      VpcId: existingVpc.vpcId,
    });
  });

  it('passes cdk-nag and the CloudFormation validation', () => {
    expect(validationFindings).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});

describe('publicly accessible for an Airbyte outside the VPC', () => {
  const allowedCidrs = ['203.0.113.10/32', '198.51.100.0/24'];
  // A public database requires Airbyte to verify its certificate (see the config test).
  const airbyte = {
    sslMode: 'verify-full',
    caCertificateFile: 'certs/eu-west-1-bundle.pem',
  } as const;

  it('gives the instance a public address in public subnets and admits only the allowed CIDRs', () => {
    const { template } = synthesizeEnvironment('dev', {
      network: { publiclyAccessible: true, allowedCidrs },
      airbyte,
    });
    template.hasResourceProperties('AWS::RDS::DBInstance', { PubliclyAccessible: true });
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    const [subnetGroup] = Object.values(template.findResources('AWS::RDS::DBSubnetGroup'));
    expect(JSON.stringify(subnetGroup.Properties.SubnetIds)).toMatch(/PublicSubnet/);
    const [dbGroup] = Object.values(
      template.findResources('AWS::EC2::SecurityGroup', {
        Properties: { GroupDescription: Match.stringLikeRegexp('^PostgreSQL') },
      }),
    );
    expect(dbGroup.Properties.SecurityGroupIngress).toEqual(
      allowedCidrs.map((cidr) =>
        expect.objectContaining({ CidrIp: cidr, FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' }),
      ),
    );
  });

  it('uses the public subnets of an existing VPC', () => {
    const { template } = synthesizeEnvironment('dev', {
      network: { existingVpc, publiclyAccessible: true, allowedCidrs },
      airbyte,
    });
    template.hasResourceProperties('AWS::RDS::DBSubnetGroup', {
      SubnetIds: existingVpc.publicSubnetIds,
    });
  });

  it('keeps SSL forced and passes validation with the public address acknowledged', () => {
    const { stack, template, validationFindings } = synthesizeAndValidateEnvironment('dev', {
      network: { publiclyAccessible: true, allowedCidrs },
      airbyte,
    });
    expect(validationFindings).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    template.hasResourceProperties('AWS::RDS::DBParameterGroup', {
      Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
    });
  });
});
