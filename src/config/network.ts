import { z } from 'zod';

/** An IPv4 CIDR whose host bits are zero: EC2 rejects `10.0.0.1/16` at deploy time. */
export const ipv4Cidr = z
  .string()
  .pipe(z.cidrv4({ message: 'must be an IPv4 CIDR such as 203.0.113.10/32' }))
  .refine(
    (cidr) => {
      const [address, bits] = cidr.split('/');
      const value = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
      const hostBits = 32 - Number(bits);
      return value % 2 ** hostBits === 0;
    },
    { message: 'has host bits set: use the network address (e.g. 10.0.0.0/16, not 10.0.0.1/16)' },
  )
  .refine((cidr) => cidr !== '0.0.0.0/0', {
    message:
      'must not be 0.0.0.0/0: a CDC source holding a replication user should not face the whole internet; list the addresses Airbyte connects from',
  });

const awsId = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}-[0-9a-f]{8,17}$`), `must look like ${prefix}-0123456789abcdef0`);

/** An existing VPC, imported without a context lookup so that `cdk synth` stays offline. */
export const existingVpcSchema = z.strictObject({
  /** The VPC id (`vpc-...`). Required. */
  vpcId: awsId('vpc'),
  /** The availability zones of the subnets below, in the same order. Required. */
  availabilityZones: z.array(z.string().min(1)).min(2, 'RDS needs subnets in at least two AZs'),
  /**
   * Subnets with no route to the internet, for the database and the setup Lambda (one per AZ).
   * The VPC must give the Lambda a path to Secrets Manager and RDS (interface endpoints, or NAT:
   * then list those subnets here as well). Required.
   */
  isolatedSubnetIds: z.array(awsId('subnet')).min(2, 'RDS needs subnets in at least two AZs'),
  /** Public subnets (one per AZ), needed only when `publiclyAccessible` is true. Default: none. */
  publicSubnetIds: z.array(awsId('subnet')).default([]),
});

export const networkSchema = z
  .strictObject({
    /** Use this existing VPC instead of creating one. Default: a new VPC. */
    existingVpc: existingVpcSchema.optional(),
    /** Availability zones for a new VPC. Default: 2. */
    maxAzs: z.number().int().min(2).max(6).default(2),
    /**
     * Give the instance a public address, for an Airbyte that runs outside the VPC (Airbyte
     * Cloud, or a laptop as in the tutorial). SSL is required either way. Default: false.
     */
    publiclyAccessible: z.boolean().default(false),
    /**
     * IPv4 CIDRs admitted to the database port from outside the VPC, e.g. Airbyte Cloud's
     * egress addresses or your laptop's /32. Default: none (only the setup Lambda is admitted).
     */
    allowedCidrs: z.array(ipv4Cidr).default([]),
  })
  .superRefine((network, ctx) => {
    if (network.publiclyAccessible && network.allowedCidrs.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['allowedCidrs'],
        message:
          'must list at least one CIDR when publiclyAccessible is true (a public database no one may reach is a mistake)',
      });
    }
    if (network.existingVpc) {
      const { availabilityZones, isolatedSubnetIds, publicSubnetIds } = network.existingVpc;
      if (isolatedSubnetIds.length !== availabilityZones.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['existingVpc', 'isolatedSubnetIds'],
          message: `must list one subnet per availability zone (${availabilityZones.length}), got ${isolatedSubnetIds.length}`,
        });
      }
      if (network.publiclyAccessible && publicSubnetIds.length !== availabilityZones.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['existingVpc', 'publicSubnetIds'],
          message: `must list one public subnet per availability zone (${availabilityZones.length}) when publiclyAccessible is true`,
        });
      }
    }
  });

export type NetworkConfig = z.infer<typeof networkSchema>;
