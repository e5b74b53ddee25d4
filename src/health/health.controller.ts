import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';

import { Public } from '../auth/auth.decorators';
import { InvalidationChannelHealthIndicator } from './invalidation-channel.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly channel: InvalidationChannelHealthIndicator,
  ) {}

  /** Report that the process is running and serving HTTP. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * Report readiness: the database responds and the invalidation channel is
   * up. An instance whose channel is down still decides correctly, reading the
   * database for every check. But it is slower and puts that load on the
   * database, so it reports 503 here until the channel is back.
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 1000 }),
      () => this.channel.check('invalidationChannel'),
    ]);
  }
}
